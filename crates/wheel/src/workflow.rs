//! One cycle of the wheel: its phases and deadlines, the department's milestones and each
//! unit's workflow as a state machine.
//!
//! State is plain facts (what was met, and when); a unit's step and its deadlines are
//! derived from the facts and the definition, so nothing derived can disagree with what
//! happened. Events are checked by [`CyclePlan::apply`] and
//! [`CyclePlan::record_milestone`], pure functions of (state, event, today) that return the
//! new state or a [`Refusal`] that says why.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::calendar::{Cycle, NoCycle};
use crate::definition::{DeadlineRule, Due, Opens, WheelDefinition};
use crate::organisation::{Level, Party, Recipient};
use crate::phase::{Deadline, Phase, Task};
use crate::text::{Arg, Text, key};

type Date = NaiveDate;

/// The department's milestones in one cycle: when each was recorded as met.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Milestones {
    pub data_collected: Option<Date>,
    pub themes_published: Option<Date>,
    pub report_final: Option<Date>,
}

impl Milestones {
    pub fn met_on(&self, milestone: Deadline) -> Option<Date> {
        match milestone {
            Deadline::DataCollected => self.data_collected,
            Deadline::ThemesPublished => self.themes_published,
            Deadline::ReportFinal => self.report_final,
            _ => None,
        }
    }

    fn slot(&mut self, milestone: Deadline) -> Option<&mut Option<Date>> {
        match milestone {
            Deadline::DataCollected => Some(&mut self.data_collected),
            Deadline::ThemesPublished => Some(&mut self.themes_published),
            Deadline::ReportFinal => Some(&mut self.report_final),
            _ => None,
        }
    }
}

/// What has happened to one unit in one cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitFacts {
    pub dialogue_held: Option<Date>,
    pub agreement: Option<AgreementFacts>,
    /// The days a status on the goals was given (the half-yearly follow-up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub goal_status_given: Vec<Date>,
    /// The days the agreement was gone through: confirmed as it stands, or a new
    /// revision signed (the yearly follow-up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviewed: Vec<Date>,
    /// The day the unit joined a cycle already running (it was added after the cycle
    /// started): it owes only the deadlines due from then on, each no sooner than
    /// `join_grace_days` business days after this day. `None` for a unit there from the
    /// start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<Date>,
}

/// The life of a unit's coherence agreement in a cycle. A signed revision is never
/// changed; a new submission makes the next revision, which the superior signs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreementFacts {
    /// The latest revision, 1 for the first submission.
    pub revision: u32,
    /// When the latest revision was submitted.
    pub submitted_on: Date,
    /// The revision in force: the latest one signed.
    pub in_force: Option<SignedRevision>,
    /// When the first revision was signed: this meets `agreement_signed`.
    pub first_signed_on: Option<Date>,
    pub midway_given_on: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignedRevision {
    pub revision: u32,
    pub signed_on: Date,
}

impl AgreementFacts {
    /// Whether the latest revision waits for the superior's signature.
    pub fn awaits_signature(&self) -> bool {
        self.in_force.is_none_or(|s| s.revision != self.revision)
    }
}

impl UnitFacts {
    /// The facts after `event`, without checking it: how recorded events (checked when
    /// they were recorded) are folded back into facts. [`CyclePlan::apply`] checks first.
    #[must_use]
    pub fn with(mut self, event: UnitEvent) -> Self {
        match event {
            UnitEvent::DialogueHeld { on } => self.dialogue_held = Some(on),
            UnitEvent::AgreementSubmitted { on } => {
                self.agreement = Some(match self.agreement.take() {
                    None => AgreementFacts {
                        revision: 1,
                        submitted_on: on,
                        in_force: None,
                        first_signed_on: None,
                        midway_given_on: None,
                    },
                    Some(a) => AgreementFacts {
                        revision: a.revision + 1,
                        submitted_on: on,
                        ..a
                    },
                });
            }
            UnitEvent::AgreementSigned { on } => {
                if let Some(a) = &mut self.agreement {
                    // Signing a new revision is going through the agreement too.
                    if a.revision > 1 {
                        self.reviewed.push(on);
                    }
                    a.in_force = Some(SignedRevision {
                        revision: a.revision,
                        signed_on: on,
                    });
                    a.first_signed_on = a.first_signed_on.or(Some(on));
                }
            }
            UnitEvent::MidwayGiven { on } => {
                if let Some(a) = &mut self.agreement {
                    a.midway_given_on = Some(on);
                }
            }
            UnitEvent::GoalStatusGiven { on } => self.goal_status_given.push(on),
            UnitEvent::AgreementReviewed { on } => self.reviewed.push(on),
        }
        self
    }

    /// The revision of the agreement in force: the latest signed.
    pub fn revision_in_force(&self) -> Option<u32> {
        self.agreement.as_ref()?.in_force.map(|s| s.revision)
    }

    /// The days that count towards a follow-up.
    fn follow_up_days(&self, deadline: Deadline) -> &[Date] {
        match deadline {
            Deadline::GoalStatus => &self.goal_status_given,
            Deadline::AgreementReview => &self.reviewed,
            _ => &[],
        }
    }

    pub fn met_on(&self, deadline: Deadline) -> Option<Date> {
        match deadline {
            Deadline::DialogueHeld => self.dialogue_held,
            Deadline::AgreementSigned => self.agreement.as_ref()?.first_signed_on,
            Deadline::MidwayStatus => self.agreement.as_ref()?.midway_given_on,
            // A follow-up is met once for each time it falls due: this is the latest.
            Deadline::GoalStatus | Deadline::AgreementReview => {
                self.follow_up_days(deadline).iter().copied().max()
            }
            _ => None,
        }
    }
}

/// A unit's step in the cycle (trin).
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Waiting for the quality dialogue with the superior (levels 3–4).
    AwaitingDialogue,
    /// Waiting for the final quality report (level 2).
    AwaitingReport,
    /// The agreement is to be drafted and submitted.
    AwaitingAgreement,
    /// Submitted; the superior has not signed yet.
    AwaitingSignature,
    /// Signed and in force.
    InForce,
    /// The midway status has been given.
    MidwayGiven,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::AwaitingDialogue,
        Step::AwaitingReport,
        Step::AwaitingAgreement,
        Step::AwaitingSignature,
        Step::InForce,
        Step::MidwayGiven,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::AwaitingDialogue => "awaiting_dialogue",
            Self::AwaitingReport => "awaiting_report",
            Self::AwaitingAgreement => "awaiting_agreement",
            Self::AwaitingSignature => "awaiting_signature",
            Self::InForce => "in_force",
            Self::MidwayGiven => "midway_given",
        }
    }

    /// The step a key names.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

/// Something that happens to one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum UnitEvent {
    /// Kvalitetssamtalen er afholdt.
    DialogueHeld { on: Date },
    /// A revision of the agreement is submitted to the superior.
    AgreementSubmitted { on: Date },
    /// The superior signs the latest revision.
    AgreementSigned { on: Date },
    /// The midway status is given on the agreement in force.
    MidwayGiven { on: Date },
    /// A status on each goal of the agreement in force (the half-yearly follow-up).
    GoalStatusGiven { on: Date },
    /// The agreement in force was gone through and stands as it is (the yearly
    /// follow-up; a revision is submitted and signed instead when it changes).
    AgreementReviewed { on: Date },
}

impl UnitEvent {
    pub fn on(self) -> Date {
        match self {
            Self::DialogueHeld { on }
            | Self::AgreementSubmitted { on }
            | Self::AgreementSigned { on }
            | Self::MidwayGiven { on }
            | Self::GoalStatusGiven { on }
            | Self::AgreementReviewed { on } => on,
        }
    }
}

/// The kinds of unit event, by what they record.
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DialogueHeld,
    AgreementSubmitted,
    AgreementSigned,
    MidwayGiven,
    GoalStatusGiven,
    AgreementReviewed,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::DialogueHeld,
        EventKind::AgreementSubmitted,
        EventKind::AgreementSigned,
        EventKind::MidwayGiven,
        EventKind::GoalStatusGiven,
        EventKind::AgreementReviewed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::DialogueHeld => "dialogue_held",
            Self::AgreementSubmitted => "agreement_submitted",
            Self::AgreementSigned => "agreement_signed",
            Self::MidwayGiven => "midway_given",
            Self::GoalStatusGiven => "goal_status_given",
            Self::AgreementReviewed => "agreement_reviewed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == text)
    }

    /// The event of this kind on `on`.
    pub fn on(self, on: Date) -> UnitEvent {
        match self {
            Self::DialogueHeld => UnitEvent::DialogueHeld { on },
            Self::AgreementSubmitted => UnitEvent::AgreementSubmitted { on },
            Self::AgreementSigned => UnitEvent::AgreementSigned { on },
            Self::MidwayGiven => UnitEvent::MidwayGiven { on },
            Self::GoalStatusGiven => UnitEvent::GoalStatusGiven { on },
            Self::AgreementReviewed => UnitEvent::AgreementReviewed { on },
        }
    }

    /// The deadline an event of this kind meets, or works towards.
    pub fn deadline(self) -> Deadline {
        match self {
            Self::DialogueHeld => Deadline::DialogueHeld,
            Self::AgreementSubmitted | Self::AgreementSigned => Deadline::AgreementSigned,
            Self::MidwayGiven => Deadline::MidwayStatus,
            Self::GoalStatusGiven => Deadline::GoalStatus,
            Self::AgreementReviewed => Deadline::AgreementReview,
        }
    }

    /// Where an event of this kind goes when recorded histories are replayed: by date,
    /// then by revision, then submitting before signing before the midway status. A
    /// corrected event takes the place of the one it corrects, whenever it was recorded.
    pub fn rank(self) -> u8 {
        match self {
            Self::DialogueHeld => 0,
            Self::AgreementSubmitted => 1,
            Self::AgreementSigned => 2,
            Self::GoalStatusGiven => 3,
            Self::AgreementReviewed => 4,
            Self::MidwayGiven => 5,
        }
    }
}

impl UnitEvent {
    pub fn kind(self) -> EventKind {
        match self {
            Self::DialogueHeld { .. } => EventKind::DialogueHeld,
            Self::AgreementSubmitted { .. } => EventKind::AgreementSubmitted,
            Self::AgreementSigned { .. } => EventKind::AgreementSigned,
            Self::MidwayGiven { .. } => EventKind::MidwayGiven,
            Self::GoalStatusGiven { .. } => EventKind::GoalStatusGiven,
            Self::AgreementReviewed { .. } => EventKind::AgreementReviewed,
        }
    }
}

impl WheelDefinition {
    /// Who may record an event of `kind` for a unit at `level`, besides the secretariat
    /// (who may record everything). Read from the deadline the event meets: its
    /// responsible party, and for the dialogue those notified of it too (the leader and
    /// the superior hold it together); its `signed_by` for the signature.
    pub fn parties_for(&self, kind: EventKind, level: Level) -> Vec<Party> {
        let Some(rule) = self.unit_rule(kind.deadline(), level) else {
            return Vec::new();
        };
        match kind {
            EventKind::DialogueHeld => std::iter::once(rule.responsible)
                .chain(rule.notify_on_open.iter().copied())
                .collect(),
            EventKind::AgreementSubmitted
            | EventKind::MidwayGiven
            | EventKind::GoalStatusGiven
            | EventKind::AgreementReviewed => vec![rule.responsible],
            EventKind::AgreementSigned => vec![rule.signed_by],
        }
    }

    /// Whether a person who leads the units of a unit's chain at `levels_led` (the unit's
    /// own level when they lead it, one up when they are its superior, …) may record an
    /// event of `kind` for it. The dashboard, the API and the command line all ask this.
    pub fn may_record(&self, kind: EventKind, level: Level, levels_led: &[Level]) -> bool {
        // Nobody signs their own agreement: one who leads a unit and the unit above it
        // (an area leader who also runs a house) signs neither the house's nor their own.
        if kind == EventKind::AgreementSigned && levels_led.contains(&level) {
            return false;
        }
        self.parties_for(kind, level).into_iter().any(
            |p| matches!(p.resolve(Some(level)), Recipient::Leader(l) if levels_led.contains(&l)),
        )
    }

    /// Who records a department milestone besides the secretariat (which coordinates
    /// the cycle and records every one): the director, when the milestone's rule names
    /// them `responsible` in `wheel.toml`. `leads_root` says whether the person leads the
    /// organisation's root unit.
    pub fn may_record_milestone(&self, milestone: Deadline, leads_root: bool) -> bool {
        leads_root
            && self
                .milestone_rule(milestone)
                .is_some_and(|r| r.responsible == Party::Director)
    }

    /// Whether an event dated `on` may be recorded from a page of cycle `meant`: only if
    /// the date falls in that cycle. A date of another cycle is refused, naming it, so a
    /// mistyped year is never filed silently in another cycle.
    pub fn check_meant_cycle(&self, on: Date, meant: i32) -> Result<(), Refusal> {
        let falls_in = self.cycles.cycle_containing(on).year();
        if falls_in == meant {
            Ok(())
        } else {
            Err(Refusal::OtherCycle {
                on,
                meant,
                falls_in,
            })
        }
    }

    /// The day a unit that joined cycle `year` after it began (`joined`, as the cycle
    /// sees it) comes along instead when it sits the cycle out and takes part from the
    /// next: that cycle's first day, so every deadline of `year` is one it never owed. A
    /// unit there from the start has its deadlines in `year` to meet.
    pub fn sits_out(&self, year: i32, joined: Option<Date>) -> Result<Date, Refusal> {
        match (joined, self.cycles.cycle(year + self.cycles.every_years())) {
            (Some(_), Ok(next)) => Ok(next.starts()),
            _ => Err(Refusal::NotAJoiner { year }),
        }
    }

    /// The cycle an event dated `on` belongs to, as of `today`, given the cycles on
    /// record. An event never starts a cycle the secretariat did not: only the running
    /// cycle, whose first day has come, starts on its own (as the scheduler would start
    /// it). Otherwise the refusal says which day in a cycle on record was likely meant.
    pub fn cycle_of_event(&self, on: Date, today: Date, on_record: &[i32]) -> Result<i32, Refusal> {
        if on > today {
            return Err(Refusal::InFuture { on, today });
        }
        let cycle = self.cycles.cycle_containing(on);
        let year = cycle.year();
        let running = self.cycles.cycle_containing(today);
        if on_record.contains(&year) || (year == running.year() && running.starts() <= today) {
            return Ok(year);
        }
        let recorded: Vec<Cycle> = on_record
            .iter()
            .filter_map(|y| self.cycles.cycle(*y).ok())
            .collect();
        // The same day in another year, in a cycle on record and not in the future: a
        // mistyped year is the common mistake.
        let hint = (-3..=3)
            .filter(|d: &i32| *d != 0)
            .filter_map(|d| on.with_year(on.year() + d))
            .filter(|h| *h <= today && recorded.iter().any(|c| c.contains(*h)))
            .min_by_key(|h| (*h - on).num_days().abs());
        let first = recorded.iter().copied().map(Cycle::starts).min();
        let last = recorded.iter().copied().map(Cycle::ends).max();
        if hint.is_none()
            && let (Some(first), Some(last)) = (first, last)
        {
            let span = i64::from(self.cycles.every_years()) * 366;
            if (first - on).num_days() > span || (on - last).num_days() > span {
                return Err(Refusal::FarOutside { on, first, last });
            }
        }
        Err(Refusal::CycleNotOnRecord {
            on,
            cycle: year,
            hint,
        })
    }
}

/// Why an event was refused. Each says what rule it broke and, where there is one, what
/// to do instead; [`Refusal::text`] says it in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    OutsideCycle {
        on: Date,
        cycle: i32,
        starts: Date,
        ends: Date,
    },
    InFuture {
        on: Date,
        today: Date,
    },
    NoWorkflow {
        level: Level,
    },
    NotApplicable {
        deadline: Deadline,
        level: Level,
    },
    NotAMilestone {
        deadline: Deadline,
    },
    AlreadyMet {
        deadline: Deadline,
        on: Date,
    },
    NotOpenYet {
        deadline: Deadline,
        opens: Date,
        on: Date,
    },
    Waiting {
        deadline: Deadline,
        waiting_for: Vec<Deadline>,
    },
    NeedsFirst {
        step: Step,
        needs: Deadline,
    },
    /// `earlier_event` is a key of the catalogue's `earlier` group (`dialogue`,
    /// `report`, `submission`, `previous_submission`, `signature`).
    BeforeEarlier {
        on: Date,
        earlier_event: &'static str,
        earlier: Date,
    },
    NothingToSign,
    AlreadySigned {
        revision: u32,
        on: Date,
    },
    NotInForce,
    /// No time of this follow-up falls due for the unit's agreement in this cycle (it
    /// was signed after the last one began, or the definition has none).
    NoFollowUp {
        deadline: Deadline,
    },
    /// The date falls in a cycle that was never started; only the secretariat starts a
    /// cycle other than the running one. `hint` is the same day in a cycle on record.
    CycleNotOnRecord {
        on: Date,
        cycle: i32,
        hint: Option<Date>,
    },
    /// The date is far from every cycle on record: most likely a mistyped year.
    FarOutside {
        on: Date,
        first: Date,
        last: Date,
    },
    /// The form (page) was of cycle `meant`, and the date falls in cycle `falls_in`:
    /// nothing is filed in another cycle than the one the person was looking at, unless
    /// they ask for that cycle.
    OtherCycle {
        on: Date,
        meant: i32,
        falls_in: i32,
    },
    /// Only a unit that joined cycle `year` after it began may sit it out and start with
    /// the next one.
    NotAJoiner {
        year: i32,
    },
}

impl Refusal {
    /// What to tell people.
    pub fn text(&self) -> Text {
        let d = |x: &Deadline| key("deadline", x.key());
        match self {
            Self::OutsideCycle {
                on,
                cycle,
                starts,
                ends,
            } => Text::new("refusal.outside_cycle")
                .arg("on", *on)
                .arg("cycle", *cycle)
                .arg("starts", *starts)
                .arg("ends", *ends),
            Self::InFuture { on, today } => Text::new("refusal.in_future")
                .arg("on", *on)
                .arg("today", *today),
            Self::NoWorkflow { level } => {
                Text::new("refusal.no_workflow").arg("level", level.number())
            }
            Self::NotApplicable { deadline, level } => Text::new("refusal.not_applicable")
                .arg("deadline", d(deadline))
                .arg("level", level.number()),
            Self::NotAMilestone { deadline } => {
                Text::new("refusal.not_a_milestone").arg("deadline", d(deadline))
            }
            Self::AlreadyMet { deadline, on } => Text::new("refusal.already_met")
                .arg("deadline", d(deadline))
                .arg("on", *on),
            Self::NotOpenYet {
                deadline,
                opens,
                on,
            } => Text::new("refusal.not_open_yet")
                .arg("deadline", d(deadline))
                .arg("opens", *opens)
                .arg("on", *on),
            Self::Waiting {
                deadline,
                waiting_for,
            } => Text::new("refusal.waiting")
                .arg("deadline", d(deadline))
                .arg("waiting", Arg::List(waiting_for.iter().map(d).collect())),
            Self::NeedsFirst { step, needs } => Text::new("refusal.needs_first")
                .arg("step", key("step", step.key()))
                .arg("needs", d(needs)),
            Self::BeforeEarlier {
                on,
                earlier_event,
                earlier,
            } => Text::new("refusal.before_earlier")
                .arg("on", *on)
                .arg("event", key("earlier", earlier_event))
                .arg("earlier", *earlier),
            Self::NothingToSign => Text::new("refusal.nothing_to_sign"),
            Self::AlreadySigned { revision, on } => Text::new("refusal.already_signed")
                .arg("revision", *revision)
                .arg("on", *on),
            Self::NotInForce => Text::new("refusal.not_in_force"),
            Self::NoFollowUp { deadline } => {
                Text::new("refusal.no_follow_up").arg("deadline", d(deadline))
            }
            Self::CycleNotOnRecord {
                on,
                cycle,
                hint: None,
            } => Text::new("refusal.cycle_not_on_record")
                .arg("on", *on)
                .arg("cycle", *cycle),
            Self::CycleNotOnRecord {
                on,
                cycle,
                hint: Some(hint),
            } => Text::new("refusal.cycle_not_on_record_hint")
                .arg("on", *on)
                .arg("cycle", *cycle)
                .arg("hint", *hint),
            Self::FarOutside { on, first, last } => Text::new("refusal.far_outside")
                .arg("on", *on)
                .arg("first", *first)
                .arg("last", *last),
            Self::OtherCycle {
                on,
                meant,
                falls_in,
            } => Text::new("refusal.other_cycle")
                .arg("on", *on)
                .arg("meant", *meant)
                .arg("falls_in", *falls_in),
            Self::NotAJoiner { year } => Text::new("refusal.not_a_joiner").arg("cycle", *year),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text())
    }
}

impl std::error::Error for Refusal {}

/// A deadline as it stands for the department or one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineStatus {
    pub deadline: Deadline,
    /// Which time of a follow-up this is (1, 2, … in the cycle); 0 for a deadline met
    /// once a cycle (a follow-up with one time too).
    #[serde(skip_serializing_if = "is_zero")]
    pub occurrence: u8,
    pub phase: Phase,
    /// When it opened or opens; `None` while it waits for other deadlines.
    pub opens: Option<Date>,
    /// The deadlines it still waits for before it opens.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<Deadline>,
    /// The due date, moved to the business day before when it falls on a closed day;
    /// `None` while it cannot be known.
    pub due: Option<Date>,
    /// The due date the rule gives before moving it off a closed day.
    pub nominal_due: Option<Date>,
    pub met_on: Option<Date>,
    /// Who is to act now: the rule's responsible party, or the signer once an agreement
    /// waits for their signature.
    pub responsible: Party,
    pub escalate_to: Party,
    /// What the responsible party is to do.
    pub task: Task,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify_on_open: Vec<Party>,
    /// Set when it was due before the unit joined the running cycle (that day): it was
    /// never the unit's, so it is never late and never mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_joining: Option<Date>,
}

/// Where a deadline stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeadlineState {
    /// Met, `late_days` calendar days after the due date (0 when on time).
    Met {
        on: Date,
        late_days: i64,
    },
    /// Waits for other deadlines before it opens.
    Waiting,
    NotOpen {
        opens: Date,
    },
    Open {
        due: Option<Date>,
    },
    /// Past its due date and not met.
    Overdue {
        days: i64,
    },
    /// Due before the unit joined the running cycle (on `joined`): not the unit's.
    NotOwed {
        joined: Date,
    },
}

/// Calendar days from `due` to `today`, 0 when `today` is not past it: the one count of
/// "how late" that every table, list, export, digest and mail shows.
pub fn days_overdue(due: Date, today: Date) -> i64 {
    (today - due).num_days().max(0)
}

impl DeadlineStatus {
    /// Where it stands on `today`. The one rule of "overdue": not met, open (not waiting
    /// for another deadline, nor for an agreement in force), and past its due date. The
    /// status list, the unit's table, the exports, the digest and the mail plan all ask
    /// this.
    pub fn state(&self, today: Date) -> DeadlineState {
        if let Some(on) = self.met_on {
            // One that was never the unit's (due before it joined) is never late.
            let late_days = match self.before_joining {
                Some(_) => 0,
                None => self.due.map_or(0, |due| days_overdue(due, on)),
            };
            return DeadlineState::Met { on, late_days };
        }
        if let Some(joined) = self.before_joining {
            return DeadlineState::NotOwed { joined };
        }
        // A deadline that waits cannot be late: what it waits for is.
        let Some(opens) = self.opens else {
            return DeadlineState::Waiting;
        };
        match self.due {
            Some(due) if today > due => DeadlineState::Overdue {
                days: days_overdue(due, today),
            },
            _ if today < opens => DeadlineState::NotOpen { opens },
            due => DeadlineState::Open { due },
        }
    }

    /// Calendar days past due on `today`, 0 when not overdue.
    pub fn overdue_days(&self, today: Date) -> i64 {
        match self.state(today) {
            DeadlineState::Overdue { days } => days,
            _ => 0,
        }
    }

    /// Whether it is still to be met and can be acted on (not waiting): what mail is
    /// about and what a unit's next deadline is chosen from.
    pub fn is_actionable(&self) -> bool {
        self.met_on.is_none() && self.opens.is_some() && self.before_joining.is_none()
    }
}

/// The deadline a unit is to meet next: of those it can act on, the one due first (so
/// an overdue one comes before any other, the most overdue first), then in the wheel's
/// order; when none of those has a due date, the first one not met in the wheel's order
/// (it names who acts, though its date is not known yet); never one that was due before
/// the unit joined the running cycle. A function of the facts
/// alone, not of the day: the kept standing stays right from one day to the next.
pub fn next_deadline(deadlines: &[DeadlineStatus]) -> Option<&DeadlineStatus> {
    deadlines
        .iter()
        .filter(|d| d.is_actionable())
        .filter_map(|d| d.due.map(|due| (due, d)))
        .min_by_key(|(due, d)| (*due, d.deadline, d.occurrence))
        .map(|(_, d)| d)
        .or_else(|| {
            deadlines
                .iter()
                .filter(|d| d.met_on.is_none() && d.before_joining.is_none())
                .min_by_key(|d| (d.deadline, d.occurrence))
        })
}

/// A phase's window in one cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseDates {
    pub phase: Phase,
    pub opens: Date,
    pub closes: Date,
}

/// One cycle of a wheel definition: the rules made concrete for that cycle's dates.
#[derive(Debug, Clone, Copy)]
pub struct CyclePlan<'d> {
    def: &'d WheelDefinition,
    cycle: Cycle,
}

impl WheelDefinition {
    /// The plan of the cycle named `year`, or why no cycle has that name.
    pub fn cycle(&self, year: i32) -> Result<CyclePlan<'_>, NoCycle> {
        Ok(CyclePlan {
            def: self,
            cycle: self.cycles.cycle(year)?,
        })
    }

    /// The plan of the cycle running on `date`.
    pub fn cycle_on(&self, date: Date) -> CyclePlan<'_> {
        CyclePlan {
            def: self,
            cycle: self.cycles.cycle_containing(date),
        }
    }
}

impl<'d> CyclePlan<'d> {
    pub fn definition(&self) -> &'d WheelDefinition {
        self.def
    }

    pub fn cycle(&self) -> Cycle {
        self.cycle
    }

    pub fn phases(&self) -> Vec<PhaseDates> {
        self.def
            .phases()
            .iter()
            .map(|p| PhaseDates {
                phase: p.phase,
                opens: self.cycle.quarter(p.first_quarter).first_day(),
                closes: self.cycle.quarter(p.last_quarter).last_day(),
            })
            .collect()
    }

    /// The dates a goal of this cycle's agreements may be due: from the cycle's first day
    /// to the last day of the next cycle.
    pub fn target_dates(&self) -> crate::agreement::TargetDates {
        let next = self.cycle.year() + self.def.cycles.every_years();
        crate::agreement::TargetDates {
            first: self.cycle.starts(),
            last: self
                .def
                .cycles
                .cycle(next)
                .map_or(self.cycle.ends(), Cycle::ends),
        }
    }

    /// The phases open on `date` (windows overlap, so there may be two).
    pub fn open_phases(&self, date: Date) -> Vec<Phase> {
        self.phases()
            .into_iter()
            .filter(|p| p.opens <= date && date <= p.closes)
            .map(|p| p.phase)
            .collect()
    }

    /// The department's milestones as they stand.
    pub fn milestone_deadlines(&self, milestones: &Milestones) -> Vec<DeadlineStatus> {
        let empty = UnitFacts::default();
        self.def
            .deadline_rules()
            .iter()
            .filter(|r| r.levels.is_empty())
            .map(|r| self.status(r, milestones, &empty))
            .collect()
    }

    /// A unit's own deadlines at `level` as they stand, a follow-up once for each time
    /// it falls due.
    pub fn unit_deadlines(
        &self,
        level: Level,
        milestones: &Milestones,
        facts: &UnitFacts,
    ) -> Vec<DeadlineStatus> {
        let deadlines = self
            .def
            .unit_rules(level)
            .flat_map(|r| match &r.opens {
                Opens::EachQuarter(quarters) => self.follow_ups(r, quarters, facts),
                _ => vec![self.status(r, milestones, facts)],
            })
            .map(|d| self.for_joiner(d, facts.joined))
            .collect::<Vec<_>>();
        not_owed_after(deadlines, facts.joined)
    }

    /// A deadline of a unit that joined the running cycle on `joined`: one due before
    /// that day was never the unit's (shown as such, never late, never mailed); one due
    /// later is owed no sooner than `join_grace_days` business days after that day.
    fn for_joiner(&self, mut status: DeadlineStatus, joined: Option<Date>) -> DeadlineStatus {
        let Some(joined) = joined else {
            return status;
        };
        // Met or not: a deadline met late by the grace's measure is not counted late.
        match status.nominal_due {
            Some(due) if due < joined => status.before_joining = Some(joined),
            Some(_) => {
                let earliest = self
                    .def
                    .calendar
                    .business_days_after(joined, self.def.join_grace_days);
                if status.due.is_some_and(|d| d < earliest) {
                    status.due = Some(earliest);
                    status.nominal_due = Some(earliest);
                }
            }
            None => {}
        }
        status
    }

    /// Each time a follow-up falls due for a unit. It follows the agreement up between
    /// its signature and the midway status: a time whose quarter began before the
    /// agreement was first signed, or after the midway status, is not the unit's; until
    /// the agreement is signed, every time waits for it. A time is met by the first
    /// status (or review) given from its first day on, so a late one counts for the time
    /// it was late for.
    fn follow_ups(
        &self,
        rule: &DeadlineRule,
        quarters: &[u8],
        facts: &UnitFacts,
    ) -> Vec<DeadlineStatus> {
        let agreement = facts.agreement.as_ref();
        let signed = agreement.and_then(|a| a.first_signed_on);
        let midway = agreement.and_then(|a| a.midway_given_on);
        let days = facts.follow_up_days(rule.deadline);
        quarters
            .iter()
            .enumerate()
            .filter_map(|(i, q)| {
                let quarter = self.cycle.quarter(*q);
                let first = quarter.first_day();
                if signed.is_some_and(|s| s >= first) || midway.is_some_and(|m| m < first) {
                    return None;
                }
                let nominal_due = signed.map(|_| quarter.last_day());
                Some(DeadlineStatus {
                    deadline: rule.deadline,
                    occurrence: occurrence(quarters, i),
                    phase: rule.phase,
                    opens: signed.map(|_| first),
                    waiting_for: if signed.is_some() {
                        Vec::new()
                    } else {
                        vec![Deadline::AgreementSigned]
                    },
                    due: nominal_due.map(|d| self.def.calendar.on_or_before(d)),
                    nominal_due,
                    met_on: days.iter().copied().filter(|d| *d >= first).min(),
                    responsible: rule.responsible,
                    escalate_to: rule.escalate_to,
                    task: Task::of(rule.deadline),
                    notify_on_open: rule.notify_on_open.clone(),
                    before_joining: None,
                })
            })
            .collect()
    }

    /// A follow-up given on `on`: the agreement is in force, and a time of it is open and
    /// not yet met.
    fn check_follow_up(
        &self,
        rule: &DeadlineRule,
        facts: &UnitFacts,
        on: Date,
    ) -> Result<(), Refusal> {
        let signed = before_midway(facts)?;
        let Opens::EachQuarter(quarters) = &rule.opens else {
            return Err(Refusal::NoFollowUp {
                deadline: rule.deadline,
            });
        };
        let times = self.follow_ups(rule, quarters, facts);
        if times
            .iter()
            .any(|t| t.met_on.is_none() && t.opens.is_some_and(|o| o <= on))
        {
            return not_before(on, "signature", signed.signed_on);
        }
        // Every time open by then is met: the next one is what to wait for, or, after
        // the last, when it was met.
        if let Some(next) = times.iter().filter_map(|t| t.opens).find(|o| *o > on) {
            return Err(Refusal::NotOpenYet {
                deadline: rule.deadline,
                opens: next,
                on,
            });
        }
        match facts.met_on(rule.deadline) {
            Some(met) if !times.is_empty() => Err(Refusal::AlreadyMet {
                deadline: rule.deadline,
                on: met,
            }),
            _ => Err(Refusal::NoFollowUp {
                deadline: rule.deadline,
            }),
        }
    }

    /// The unit's step, or `None` for a level without an agreement (the director).
    pub fn step(&self, level: Level, milestones: &Milestones, facts: &UnitFacts) -> Option<Step> {
        let sign = self.def.unit_rule(Deadline::AgreementSigned, level)?;
        if self.def.unit_rule(Deadline::DialogueHeld, level).is_some()
            && facts.dialogue_held.is_none()
        {
            return Some(Step::AwaitingDialogue);
        }
        if waits_for_report(sign) && milestones.report_final.is_none() {
            return Some(Step::AwaitingReport);
        }
        Some(match &facts.agreement {
            None => Step::AwaitingAgreement,
            Some(a) if a.awaits_signature() => Step::AwaitingSignature,
            Some(a) if a.midway_given_on.is_some() => Step::MidwayGiven,
            Some(_) => Step::InForce,
        })
    }

    /// The events the wheel's rules allow a unit at `level` today: what the dashboard
    /// offers, so it never shows a form the rules would refuse.
    pub fn allowed_events(
        &self,
        level: Level,
        milestones: &Milestones,
        facts: &UnitFacts,
        today: Date,
    ) -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|k| {
                self.apply(level, milestones, facts, k.on(today), today)
                    .is_ok()
            })
            .collect()
    }

    /// Records a department milestone met on `on`, as of `today`.
    pub fn record_milestone(
        &self,
        milestones: &Milestones,
        milestone: Deadline,
        on: Date,
        today: Date,
    ) -> Result<Milestones, Refusal> {
        let rule = self
            .def
            .milestone_rule(milestone)
            .ok_or(Refusal::NotAMilestone {
                deadline: milestone,
            })?;
        self.check_date(on, today)?;
        if let Some(met) = milestones.met_on(milestone) {
            return Err(Refusal::AlreadyMet {
                deadline: milestone,
                on: met,
            });
        }
        self.check_open(rule, milestones, &UnitFacts::default(), on)?;
        let mut next = milestones.clone();
        if let Some(slot) = next.slot(milestone) {
            *slot = Some(on);
        }
        Ok(next)
    }

    /// Applies an event to a unit at `level`, as of `today`.
    pub fn apply(
        &self,
        level: Level,
        milestones: &Milestones,
        facts: &UnitFacts,
        event: UnitEvent,
        today: Date,
    ) -> Result<UnitFacts, Refusal> {
        if self.def.unit_rules(level).next().is_none() {
            return Err(Refusal::NoWorkflow { level });
        }
        let on = event.on();
        self.check_date(on, today)?;
        let rule = |deadline| {
            self.def
                .unit_rule(deadline, level)
                .ok_or(Refusal::NotApplicable { deadline, level })
        };
        match event {
            UnitEvent::DialogueHeld { on } => {
                let rule = rule(Deadline::DialogueHeld)?;
                if let Some(held) = facts.dialogue_held {
                    return Err(Refusal::AlreadyMet {
                        deadline: Deadline::DialogueHeld,
                        on: held,
                    });
                }
                self.check_open(rule, milestones, facts, on)?;
            }
            UnitEvent::AgreementSubmitted { on } => {
                let sign = rule(Deadline::AgreementSigned)?;
                match self.step(level, milestones, facts) {
                    Some(step @ Step::AwaitingDialogue) => {
                        return Err(Refusal::NeedsFirst {
                            step,
                            needs: Deadline::DialogueHeld,
                        });
                    }
                    Some(step @ Step::AwaitingReport) => {
                        return Err(Refusal::NeedsFirst {
                            step,
                            needs: Deadline::ReportFinal,
                        });
                    }
                    _ => {}
                }
                if let Some(held) = facts.dialogue_held {
                    not_before(on, "dialogue", held)?;
                }
                if waits_for_report(sign)
                    && let Some(report) = milestones.report_final
                {
                    not_before(on, "report", report)?;
                }
                if let Some(a) = &facts.agreement {
                    not_before(on, "previous_submission", a.submitted_on)?;
                    if let Some(s) = a.in_force {
                        not_before(on, "signature", s.signed_on)?;
                    }
                }
            }
            UnitEvent::AgreementSigned { on } => {
                let sign = rule(Deadline::AgreementSigned)?;
                // What the wheel waits for comes first: "signed before the dialogue was
                // held" is the answer people need, not "nothing to sign".
                self.check_open(sign, milestones, facts, on)?;
                let agreement = facts.agreement.as_ref().ok_or(Refusal::NothingToSign)?;
                if let Some(s) = agreement.in_force
                    && s.revision == agreement.revision
                {
                    return Err(Refusal::AlreadySigned {
                        revision: s.revision,
                        on: s.signed_on,
                    });
                }
                not_before(on, "submission", agreement.submitted_on)?;
            }
            UnitEvent::MidwayGiven { on } => {
                let midway = rule(Deadline::MidwayStatus)?;
                let signed = before_midway(facts)?;
                self.check_open(midway, milestones, facts, on)?;
                not_before(on, "signature", signed.signed_on)?;
            }
            UnitEvent::GoalStatusGiven { on } => {
                self.check_follow_up(rule(Deadline::GoalStatus)?, facts, on)?;
            }
            UnitEvent::AgreementReviewed { on } => {
                self.check_follow_up(rule(Deadline::AgreementReview)?, facts, on)?;
            }
        }
        Ok(facts.clone().with(event))
    }

    fn check_date(&self, on: Date, today: Date) -> Result<(), Refusal> {
        if !self.cycle.contains(on) {
            return Err(Refusal::OutsideCycle {
                on,
                cycle: self.cycle.year(),
                starts: self.cycle.starts(),
                ends: self.cycle.ends(),
            });
        }
        if on > today {
            return Err(Refusal::InFuture { on, today });
        }
        Ok(())
    }

    /// The deadline must be open on `on` for an event to meet it.
    fn check_open(
        &self,
        rule: &DeadlineRule,
        milestones: &Milestones,
        facts: &UnitFacts,
        on: Date,
    ) -> Result<(), Refusal> {
        let (mut opens, mut waiting_for) = self.opening(rule, milestones, facts);
        // The midway status is given on the agreement in force: without one it waits for
        // the signature, and the agreement's own deadline is what is late.
        if rule.deadline == Deadline::MidwayStatus
            && facts.met_on(Deadline::MidwayStatus).is_none()
            && facts
                .agreement
                .as_ref()
                .is_none_or(|a| a.in_force.is_none())
        {
            opens = None;
            waiting_for = vec![Deadline::AgreementSigned];
        }
        match opens {
            None => Err(Refusal::Waiting {
                deadline: rule.deadline,
                waiting_for,
            }),
            Some(opens) if on < opens => Err(Refusal::NotOpenYet {
                deadline: rule.deadline,
                opens,
                on,
            }),
            Some(_) => Ok(()),
        }
    }

    /// When a deadline opens, or the deadlines it still waits for.
    fn opening(
        &self,
        rule: &DeadlineRule,
        milestones: &Milestones,
        facts: &UnitFacts,
    ) -> (Option<Date>, Vec<Deadline>) {
        match &rule.opens {
            Opens::QuarterStart(q) => (Some(self.cycle.quarter(*q).first_day()), Vec::new()),
            // A follow-up opens once for each of its quarters: see `follow_ups`.
            Opens::EachQuarter(quarters) => (
                quarters.first().map(|q| self.cycle.quarter(*q).first_day()),
                Vec::new(),
            ),
            Opens::After(after) => {
                let met = |d: Deadline| milestones.met_on(d).or_else(|| facts.met_on(d));
                let waiting: Vec<Deadline> = after
                    .iter()
                    .copied()
                    .filter(|d| met(*d).is_none())
                    .collect();
                if waiting.is_empty() {
                    (after.iter().filter_map(|d| met(*d)).max(), waiting)
                } else {
                    (None, waiting)
                }
            }
        }
    }

    fn status(
        &self,
        rule: &DeadlineRule,
        milestones: &Milestones,
        facts: &UnitFacts,
    ) -> DeadlineStatus {
        let (mut opens, mut waiting_for) = self.opening(rule, milestones, facts);
        // The midway status is given on the agreement in force: without one it waits for
        // the signature, and the agreement's own deadline is what is late.
        if rule.deadline == Deadline::MidwayStatus
            && facts.met_on(Deadline::MidwayStatus).is_none()
            && facts
                .agreement
                .as_ref()
                .is_none_or(|a| a.in_force.is_none())
        {
            opens = None;
            waiting_for = vec![Deadline::AgreementSigned];
        }
        // A submitted agreement waits for the signer: the deadline is theirs to meet now,
        // and one step above them hears of it when it is late.
        let awaits_signature = rule.deadline == Deadline::AgreementSigned
            && facts.met_on(Deadline::AgreementSigned).is_none()
            && facts
                .agreement
                .as_ref()
                .is_some_and(AgreementFacts::awaits_signature);
        let (responsible, escalate_to, task) = if awaits_signature {
            (
                rule.signed_by,
                rule.signed_by.superior(),
                Task::SignAgreement,
            )
        } else {
            (rule.responsible, rule.escalate_to, Task::of(rule.deadline))
        };
        let nominal_due = match rule.due {
            Due::EndOfQuarter(q) => Some(self.cycle.quarter(q).last_day()),
            Due::DaysAfterOpening(days) => {
                opens.and_then(|o| o.checked_add_days(Days::new(u64::from(days))))
            }
            Due::EndOfItsQuarter => opens
                .and_then(|o| self.cycle.quarter_offset(o))
                .map(|q| self.cycle.quarter(q).last_day()),
        };
        DeadlineStatus {
            deadline: rule.deadline,
            occurrence: 0,
            phase: rule.phase,
            opens,
            waiting_for,
            due: nominal_due.map(|d| self.def.calendar.on_or_before(d)),
            nominal_due,
            met_on: milestones
                .met_on(rule.deadline)
                .or_else(|| facts.met_on(rule.deadline)),
            responsible,
            escalate_to,
            task,
            notify_on_open: rule.notify_on_open.clone(),
            before_joining: None,
        }
    }
}

/// A late joiner's deadlines that wait for one it never owed (its dialogue, due before
/// it joined) wait for something that will not come: they are not the unit's either,
/// and the unit takes part from the next cycle, unless the secretariat records what
/// they wait for (then they open as for any unit).
fn not_owed_after(mut deadlines: Vec<DeadlineStatus>, joined: Option<Date>) -> Vec<DeadlineStatus> {
    let Some(joined) = joined else {
        return deadlines;
    };
    // Chains of waiting are short (dialogue, agreement, midway status): a few rounds.
    for _ in 0..deadlines.len() {
        let not_owed: Vec<Deadline> = deadlines
            .iter()
            .filter(|d| d.before_joining.is_some() && d.met_on.is_none())
            .map(|d| d.deadline)
            .collect();
        let mut changed = false;
        for d in &mut deadlines {
            if d.before_joining.is_none()
                && d.met_on.is_none()
                && d.waiting_for.iter().any(|w| not_owed.contains(w))
            {
                d.before_joining = Some(joined);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    deadlines
}

/// A level-2 agreement waits for the final report before it is drafted; that is what
/// gives those units the `awaiting_report` step.
fn waits_for_report(sign: &DeadlineRule) -> bool {
    matches!(&sign.opens, Opens::After(after) if after.contains(&Deadline::ReportFinal))
}

/// The midway status and the follow-ups are given on the agreement in force, until the
/// midway status is given: its signature, or why not.
fn before_midway(facts: &UnitFacts) -> Result<SignedRevision, Refusal> {
    let agreement = facts.agreement.as_ref().ok_or(Refusal::NotInForce)?;
    let signed = agreement.in_force.ok_or(Refusal::NotInForce)?;
    match agreement.midway_given_on {
        Some(given) => Err(Refusal::AlreadyMet {
            deadline: Deadline::MidwayStatus,
            on: given,
        }),
        None => Ok(signed),
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
pub(crate) fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The number of the `i`th time of a follow-up that falls due in `quarters`: 1, 2, …, or
/// 0 when it falls due once a cycle (then it needs no number).
pub(crate) fn occurrence(quarters: &[u8], i: usize) -> u8 {
    if quarters.len() == 1 {
        0
    } else {
        u8::try_from(i + 1).unwrap_or(u8::MAX)
    }
}

fn not_before(on: Date, earlier_event: &'static str, earlier: Date) -> Result<(), Refusal> {
    if on < earlier {
        Err(Refusal::BeforeEarlier {
            on,
            earlier_event,
            earlier,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
