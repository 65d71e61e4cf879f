//! Recording what happens in a cycle: department milestones and each unit's events. Each
//! is checked by the wheel's state machine inside the transaction that records it, with
//! its audit row.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hjul_wheel::UnitId;
use hjul_wheel::agreement::Warning;
use hjul_wheel::data::{Period, Proposal, Reading, propose};
use hjul_wheel::{
    Agreement, CyclePlan, Deadline, GoalDraft, GradeDraft, Grading, Level, Milestones, Refusal,
    UnitEvent, UnitFacts, WheelDefinition,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{agreement, cycle, goal, grade, milestone, unit, unit_event};
use crate::facts::{
    catalogue_of, definition_of, fold_events, level_on_record as level_of, milestones_of,
    recorded_years,
};
use crate::outbox::{hand_over, void_pending};
use crate::{FaultPoint, OnRecord, Stamp, Store, StoreError, json};

/// The kinds of unit event on record (the wheel's).
pub use hjul_wheel::EventKind as UnitEventKind;

/// A submitted agreement: its revision and the warnings to show the leader.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub revision: u32,
    pub warnings: Vec<Warning>,
    /// The cycle it was put in.
    pub cycle: i32,
}

/// A midway status given: the grades and score, and the cycle it was put in.
#[derive(Debug, Clone)]
pub struct Graded {
    pub grading: Grading,
    pub cycle: i32,
}

#[derive(Serialize)]
struct EventRecord<'a> {
    cycle: i32,
    unit_id: &'a str,
    kind: &'a str,
    on: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    for_report: bool,
}

/// A unit event to be recorded.
struct NewEvent<'a> {
    kind: UnitEventKind,
    on: NaiveDate,
    /// The agreement revision it concerns.
    revision: Option<u32>,
    notes: Option<&'a str>,
    /// The notes may be quoted in the quality report.
    for_report: bool,
}

impl NewEvent<'_> {
    fn new(kind: UnitEventKind, on: NaiveDate, revision: Option<u32>) -> Self {
        Self {
            kind,
            on,
            revision,
            notes: None,
            for_report: false,
        }
    }
}

/// Goals to submit: an agreement file, or the editor's drafts.
enum Goals<'a> {
    File { text: &'a str, name: &'a str },
    Drafts(&'a [GoalDraft]),
}

/// A follow-up to record: the status on each goal, or the review with its notes.
#[derive(Clone)]
enum FollowUp<'a> {
    GoalStatus(&'a [String]),
    Review(Option<String>),
}

/// Grades to give: a grades file, or the midway form's.
enum Grades<'a> {
    File { text: &'a str, name: &'a str },
    Drafts(&'a [GradeDraft]),
}

/// A recorded revision's agreement, read from the file kept with it. It was checked when
/// it was submitted, so its target dates are not checked again.
fn recorded_agreement(
    c: &cycle::Model,
    row: &agreement::Model,
    revision: u32,
) -> Result<Agreement, StoreError> {
    let catalogue = catalogue_of(c)?;
    Ok(Agreement::from_toml(
        &row.source,
        &format!("agreement revision {revision}"),
        &catalogue,
        None,
    )?
    .0)
}

/// What a unit event is checked against, read inside its transaction.
pub(crate) struct UnitContext {
    pub unit: unit::Model,
    pub level: Level,
    pub cycle: cycle::Model,
    pub definition: WheelDefinition,
    pub milestones: Milestones,
    pub facts: UnitFacts,
}

impl UnitContext {
    pub fn plan(&self) -> Result<CyclePlan<'_>, StoreError> {
        Ok(self.definition.cycle(self.cycle.year)?)
    }

    /// Keeps the unit's standing with the change, in the change's transaction (call it
    /// last: a midway's grades count in the score).
    pub async fn keep_standing(&self, txn: &DatabaseTransaction) -> Result<(), StoreError> {
        crate::standing::refresh(
            txn,
            self.cycle.year,
            crate::standing::Which::Units(std::slice::from_ref(&self.unit.id)),
        )
        .await
        .map(drop)
    }

    /// The facts after `event`, if the wheel's rules allow it as of `today`.
    pub fn check(&self, event: UnitEvent, today: NaiveDate) -> Result<UnitFacts, StoreError> {
        Ok(self
            .plan()?
            .apply(self.level, &self.milestones, &self.facts, event, today)?)
    }
}

/// Where a unit event was put on record: the cycle it counts in (the one the wheel
/// filed it under, which a confirmation names), and the agreement's revision it
/// concerns when it concerns one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub cycle: i32,
    pub revision: Option<u32>,
}

impl Recorded {
    fn in_cycle(cycle: i32) -> Self {
        Self {
            cycle,
            revision: None,
        }
    }
}

/// The one rule of which milestone takes focus themes: `themes_published` needs them
/// (one at least, each within the limits), every other milestone takes none. Asked by
/// every recording of a milestone, and before a final report is made for one.
pub fn check_themes(milestone: Deadline, themes: Option<&[String]>) -> Result<(), StoreError> {
    match (themes, milestone) {
        (None, Deadline::ThemesPublished) => Err(StoreError::ThemesRequired),
        (Some([]), Deadline::ThemesPublished) => Err(StoreError::NoThemes),
        (Some(t), Deadline::ThemesPublished) => {
            hjul_wheel::limits::check_themes(t).map_err(StoreError::Input)
        }
        (Some(_), m) => Err(StoreError::TakesNoThemes(m)),
        (None, _) => Ok(()),
    }
}

impl Store {
    /// Records a department milestone of cycle `year`; `themes` (in priority order) go
    /// with `themes_published` and only with it.
    pub async fn record_milestone(
        &self,
        year: i32,
        milestone: Deadline,
        on: NaiveDate,
        themes: Option<Vec<String>>,
        stamp: &Stamp,
    ) -> Result<(), StoreError> {
        self.milestone_with(year, milestone, on, themes, None, stamp)
            .await
    }

    /// A milestone, with the final report when it is `report_final` and one was made.
    pub(crate) async fn milestone_with(
        &self,
        year: i32,
        milestone: Deadline,
        on: NaiveDate,
        themes: Option<Vec<String>>,
        report: Option<crate::reports::FinalReportFile>,
        stamp: &Stamp,
    ) -> Result<(), StoreError> {
        check_themes(milestone, themes.as_deref())?;
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let running = self
                .wheel
                .definition
                .cycles
                .cycle_containing(stamp.today)
                .year();
            // A past cycle never starts by itself; a future one says when it starts.
            if year < running && !recorded_years(&txn).await?.contains(&year) {
                return Err(Refusal::CycleNotOnRecord {
                    on,
                    cycle: year,
                    hint: None,
                }
                .into());
            }
            let c = self.cycle_for_event(&txn, year, stamp).await?;
            let def = definition_of(&c)?;
            let plan = def.cycle(year)?;
            let before = milestones_of(&txn, year, None).await?;
            plan.record_milestone(&before, milestone, on, stamp.today)?;
            let themes_json = themes.as_ref().map(json);
            milestone::Entity::insert(milestone::ActiveModel {
                cycle: Set(year),
                deadline: Set(milestone),
                met_on: Set(on),
                themes: Set(themes_json),
                recorded_at: Set(stamp.at),
                recorded_by: Set(stamp.actor.clone()),
            })
            .exec_without_returning(&txn)
            .await?;
            self.fault(FaultPoint::EventAfterInsert, "milestone, after the insert")?;
            void_pending(&txn, year, None, milestone).await?;
            // The final report goes with the milestone, or neither does.
            let report_sha256 = match report
                .as_ref()
                .filter(|_| milestone == Deadline::ReportFinal)
            {
                Some(r) => {
                    let row = crate::reports::row(year, r, stamp);
                    let hash = crate::reports::sha256(&r.pdf);
                    crate::entity::final_report::Entity::insert(row)
                        .exec_without_returning(&txn)
                        .await?;
                    Some(hash)
                }
                None => None,
            };
            #[derive(Serialize)]
            struct Record<'a> {
                cycle: i32,
                milestone: Deadline,
                on: NaiveDate,
                themes: &'a Option<Vec<String>>,
                #[serde(skip_serializing_if = "Option::is_none")]
                report_sha256: Option<String>,
            }
            audit::log(
                &txn,
                stamp,
                Change::new(
                    "milestone.record",
                    "milestone",
                    format!("{year}/{milestone}"),
                )
                .after(&Record {
                    cycle: year,
                    milestone,
                    on,
                    themes: &themes,
                    report_sha256,
                }),
            )
            .await?;
            crate::standing::refresh(&txn, year, crate::standing::Which::All).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    /// Reads what a unit event is checked against, starting the event's cycle if its
    /// first day has come.
    pub(crate) async fn unit_context(
        &self,
        txn: &DatabaseTransaction,
        unit_id: &str,
        on: NaiveDate,
        stamp: &Stamp,
    ) -> Result<UnitContext, StoreError> {
        let unit = unit::Entity::find_by_id(unit_id)
            .one(txn)
            .await?
            .ok_or_else(|| StoreError::UnknownUnit(unit_id.to_owned()))?;
        if !unit.active {
            return Err(StoreError::InactiveUnit(unit_id.to_owned()));
        }
        let level = level_of(&unit)?;
        let on_record = recorded_years(txn).await?;
        let year = self
            .wheel
            .definition
            .cycle_of_event(on, stamp.today, &on_record)?;
        let cycle = self.cycle_for_event(txn, year, stamp).await?;
        let definition = definition_of(&cycle)?;
        let milestones = milestones_of(txn, year, None).await?;
        let events = unit_event::Entity::find()
            .filter(unit_event::Column::Cycle.eq(year))
            .filter(unit_event::Column::UnitId.eq(unit_id))
            .order_by_asc(unit_event::Column::Id)
            .all(txn)
            .await?;
        let mut facts = fold_events(&events);
        let started = crate::facts::started_at(txn, year).await?;
        facts.joined = crate::facts::joined(&unit, started, &definition);
        Ok(UnitContext {
            unit,
            level,
            cycle,
            definition,
            milestones,
            facts,
        })
    }

    /// Checks a unit event against the rules and writes it with its audit row.
    async fn append_event(
        &self,
        txn: &DatabaseTransaction,
        ctx: &UnitContext,
        event: NewEvent<'_>,
        stamp: &Stamp,
    ) -> Result<UnitFacts, StoreError> {
        let NewEvent {
            kind,
            on,
            revision,
            notes,
            for_report,
        } = event;
        let after = ctx.check(kind.on(on), stamp.today)?;
        for d in [
            Deadline::DialogueHeld,
            Deadline::AgreementSigned,
            Deadline::MidwayStatus,
        ] {
            if ctx.facts.met_on(d).is_none() && after.met_on(d).is_some() {
                void_pending(txn, ctx.cycle.year, Some(&ctx.unit.id), d).await?;
            }
        }
        let plan = ctx.plan()?;
        // A deadline that passes to another to act on (a submitted agreement is the
        // signer's now): what was pending for the one who acted before, or for their
        // superior about them, is not sent, and an entry a mail put in their calendar is
        // cancelled; the next tick writes the new one's mail.
        let before = plan.unit_deadlines(ctx.level, &ctx.milestones, &ctx.facts);
        let now_deadlines = plan.unit_deadlines(ctx.level, &ctx.milestones, &after);
        // A follow-up met for one of its times: what is pending about that time is not
        // sent (its other times keep theirs).
        for now in &now_deadlines {
            if now.deadline.is_follow_up()
                && now.met_on.is_some()
                && let Some(due) = now.due
                && before.iter().any(|b| {
                    b.deadline == now.deadline
                        && b.occurrence == now.occurrence
                        && b.met_on.is_none()
                })
            {
                crate::outbox::void_pending_due(
                    txn,
                    ctx.cycle.year,
                    &ctx.unit.id,
                    now.deadline,
                    due,
                )
                .await?;
            }
        }
        for now in &now_deadlines {
            if let Some(was) = before.iter().find(|b| b.deadline == now.deadline)
                && now.met_on.is_none()
                && was.responsible != now.responsible
            {
                hand_over(
                    txn,
                    ctx.cycle.year,
                    &ctx.unit.id,
                    was,
                    now,
                    &ctx.definition,
                    stamp,
                )
                .await?;
            }
        }
        // A deadline that was waiting and opens with this event: mail voided while a
        // correction left it waiting comes back (nothing else voids an unmet deadline).
        let waiting: Vec<Deadline> = before
            .iter()
            .filter(|d| d.opens.is_none() && d.met_on.is_none())
            .map(|d| d.deadline)
            .collect();
        let opened: Vec<_> = now_deadlines
            .into_iter()
            .filter(|d| waiting.contains(&d.deadline) && d.opens.is_some())
            .collect();
        if !opened.is_empty() {
            crate::corrections::reschedule(
                txn,
                &ctx.definition,
                ctx.cycle.year,
                &ctx.unit.id,
                &opened,
                stamp.at,
            )
            .await?;
        }
        unit_event::Entity::insert(unit_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            cycle: Set(ctx.cycle.year),
            unit_id: Set(ctx.unit.id.clone()),
            kind: Set(kind),
            on: Set(on),
            revision: Set(revision.map(i64::from).and_then(|r| i32::try_from(r).ok())),
            notes: Set(notes.map(str::to_owned)),
            for_report: Set(for_report && notes.is_some()),
            recorded_at: Set(stamp.at),
            recorded_by: Set(stamp.actor.clone()),
            superseded_by: Set(None),
        })
        .exec_without_returning(txn)
        .await?;
        self.fault(FaultPoint::EventAfterInsert, "event, after the insert")?;
        audit::log(
            txn,
            stamp,
            Change::new(&format!("unit.{}", kind.key()), "unit", ctx.unit.id.clone()).after(
                &EventRecord {
                    cycle: ctx.cycle.year,
                    unit_id: &ctx.unit.id,
                    kind: kind.key(),
                    on,
                    revision,
                    notes,
                    for_report: for_report && notes.is_some(),
                },
            ),
        )
        .await?;
        Ok(after)
    }

    /// Records a unit's quality dialogue, its notes kept out of the quality report.
    pub async fn record_dialogue(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        notes: Option<String>,
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        self.record_dialogue_with(unit, on, notes, false, stamp)
            .await
    }

    /// Records a unit's quality dialogue; with `for_report`, the leader lets its notes
    /// be quoted in the quality report.
    pub async fn record_dialogue_with(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        notes: Option<String>,
        for_report: bool,
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        let unit_id = unit.as_str();
        if let Some(n) = &notes {
            hjul_wheel::limits::check_notes(n).map_err(StoreError::Input)?;
            if for_report {
                hjul_wheel::limits::check_report_notes(n).map_err(StoreError::Input)?;
            }
        }
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let ctx = self.unit_context(&txn, unit_id, on, stamp).await?;
            self.append_event(
                &txn,
                &ctx,
                NewEvent {
                    notes: notes.as_deref(),
                    for_report,
                    ..NewEvent::new(UnitEventKind::DialogueHeld, on, None)
                },
                stamp,
            )
            .await?;
            ctx.keep_standing(&txn).await?;
            txn.commit().await?;
            Ok(Recorded::in_cycle(ctx.cycle.year))
        })
    }

    /// Submits an agreement file as the unit's next revision. A signed revision is never
    /// changed: this always adds one.
    pub async fn submit_agreement(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        source: &str,
        file: &str,
        stamp: &Stamp,
    ) -> Result<Submitted, StoreError> {
        let unit_id = unit.as_str();
        self.submit(
            unit_id,
            on,
            Goals::File {
                text: source,
                name: file,
            },
            stamp,
        )
        .await
    }

    /// Submits goals drawn up in the dashboard's editor as the unit's next revision; the
    /// agreement file kept on record is written from them.
    pub async fn submit_goals(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        goals: &[GoalDraft],
        stamp: &Stamp,
    ) -> Result<Submitted, StoreError> {
        let unit_id = unit.as_str();
        self.submit(unit_id, on, Goals::Drafts(goals), stamp).await
    }

    /// Checks goals against the rules of a unit's cycle without recording anything: what
    /// the editor shows before the leader submits.
    pub async fn check_goals(
        &self,
        unit: &UnitId,
        goals: &[GoalDraft],
        stamp: &Stamp,
    ) -> Result<Vec<Warning>, StoreError> {
        let unit_id = unit.as_str();
        let (txn, _turn) = self.write().await?;
        let ctx = self.unit_context(&txn, unit_id, stamp.today, stamp).await?;
        let catalogue = catalogue_of(&ctx.cycle)?;
        let targets = ctx.plan()?.target_dates();
        let (_, warnings) =
            Agreement::check(goals, &[], &catalogue, Some(targets)).map_err(|problems| {
                hjul_wheel::ConfigError {
                    file: "the form".into(),
                    problems,
                }
            })?;
        // Nothing was written; the cycle a first event would start is not kept either.
        txn.rollback().await?;
        Ok(warnings)
    }

    async fn submit(
        &self,
        unit_id: &str,
        on: NaiveDate,
        goals: Goals<'_>,
        stamp: &Stamp,
    ) -> Result<Submitted, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let ctx = self.unit_context(&txn, unit_id, on, stamp).await?;
            // The rules first: a unit that may not submit yet learns why, before the file's
            // details.
            ctx.check(UnitEvent::AgreementSubmitted { on }, stamp.today)?;
            let catalogue = catalogue_of(&ctx.cycle)?;
            let targets = Some(ctx.plan()?.target_dates());
            let (agreement, warnings, source) = match goals {
                Goals::File { text, name } => {
                    let (a, w) = Agreement::from_toml(text, name, &catalogue, targets)?;
                    (a, w, text.to_owned())
                }
                Goals::Drafts(drafts) => {
                    let (a, w) =
                        Agreement::check(drafts, &[], &catalogue, targets).map_err(|problems| {
                            hjul_wheel::ConfigError {
                                file: "the form".into(),
                                problems,
                            }
                        })?;
                    let source = a.to_toml();
                    (a, w, source)
                }
            };
            let revision = ctx.facts.agreement.as_ref().map_or(1, |a| a.revision + 1);
            let facts = self
                .append_event(
                    &txn,
                    &ctx,
                    NewEvent::new(UnitEventKind::AgreementSubmitted, on, Some(revision)),
                    stamp,
                )
                .await?;
            debug_assert_eq!(facts.agreement.as_ref().map(|a| a.revision), Some(revision));

            let agreement_id = Uuid::now_v7();
            agreement::Entity::insert(agreement::ActiveModel {
                id: Set(agreement_id),
                cycle: Set(ctx.cycle.year),
                unit_id: Set(ctx.unit.id.clone()),
                revision: Set(i32::try_from(revision).unwrap_or(i32::MAX)),
                submitted_on: Set(on),
                signed_on: Set(None),
                source: Set(source),
            })
            .exec_without_returning(&txn)
            .await?;
            let goals: Vec<goal::ActiveModel> = agreement
                .goals()
                .iter()
                .enumerate()
                .map(|(i, g)| goal::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    agreement_id: Set(agreement_id),
                    position: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                    title: Set(g.title.clone()),
                    dimension: Set(g.dimension),
                    kind: Set(g.kind),
                    horizon: Set(g.horizon),
                    weight: Set(i32::from(g.weight.percent())),
                    indicator: Set(g.indicator.as_ref().map(ToString::to_string)),
                    baseline: Set(g.baseline.clone()),
                    partly_met: Set(g.partly_met.clone()),
                    fully_met: Set(g.fully_met.clone()),
                    activities: Set(json(&g.activities)),
                    target_date: Set(g.target_date),
                    baseline_value: Set(g.measured.map(|c| c.baseline)),
                    partly_met_value: Set(g.measured.map(|c| c.partly_met)),
                    fully_met_value: Set(g.measured.map(|c| c.fully_met)),
                })
                .collect();
            goal::Entity::insert_many(goals)
                .exec_without_returning(&txn)
                .await?;
            ctx.keep_standing(&txn).await?;
            txn.commit().await?;
            Ok(Submitted {
                revision,
                warnings,
                cycle: ctx.cycle.year,
            })
        })
    }

    /// The superior signs the latest revision. Returns the revision signed.
    pub async fn sign_agreement(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        let unit_id = unit.as_str();
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let ctx = self.unit_context(&txn, unit_id, on, stamp).await?;
            let revision = ctx.facts.agreement.as_ref().map_or(0, |a| a.revision);
            self.append_event(
                &txn,
                &ctx,
                NewEvent::new(UnitEventKind::AgreementSigned, on, Some(revision)),
                stamp,
            )
            .await?;
            let row = self.agreement_row(&txn, &ctx, revision).await?;
            let mut am = row.into_active_model();
            am.signed_on = Set(Some(on));
            am.update(&txn).await?;
            ctx.keep_standing(&txn).await?;
            txn.commit().await?;
            Ok(Recorded {
                cycle: ctx.cycle.year,
                revision: Some(revision),
            })
        })
    }

    /// The midway status: every goal of the agreement in force graded from a grades file.
    pub async fn give_midway(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        source: &str,
        file: &str,
        stamp: &Stamp,
    ) -> Result<Graded, StoreError> {
        let unit_id = unit.as_str();
        self.midway(
            unit_id,
            on,
            Grades::File {
                text: source,
                name: file,
            },
            stamp,
        )
        .await
    }

    /// The midway status from the dashboard's form: a grade for every goal.
    pub async fn give_grades(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        grades: &[GradeDraft],
        stamp: &Stamp,
    ) -> Result<Graded, StoreError> {
        let unit_id = unit.as_str();
        self.midway(unit_id, on, Grades::Drafts(grades), stamp)
            .await
    }

    async fn midway(
        &self,
        unit_id: &str,
        on: NaiveDate,
        grades: Grades<'_>,
        stamp: &Stamp,
    ) -> Result<Graded, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let ctx = self.unit_context(&txn, unit_id, on, stamp).await?;
            ctx.check(UnitEvent::MidwayGiven { on }, stamp.today)?;
            // `apply` refuses without an agreement in force, so there is one.
            let revision = ctx.facts.revision_in_force().unwrap_or(0);
            let row = self.agreement_row(&txn, &ctx, revision).await?;
            let agreement = recorded_agreement(&ctx.cycle, &row, revision)?;
            let grading =
                match grades {
                    Grades::File { text, name } => agreement.grade_toml(text, name)?,
                    Grades::Drafts(drafts) => agreement.grade(drafts, &[]).map_err(|problems| {
                        hjul_wheel::ConfigError {
                            file: "the form".into(),
                            problems,
                        }
                    })?,
                };
            let catalogue = catalogue_of(&ctx.cycle)?;
            let proposals = self
                .proposals_of(&txn, unit_id, &agreement, &catalogue)
                .await?;
            grading
                .against(&proposals)
                .map_err(|problems| hjul_wheel::ConfigError {
                    file: match grades {
                        Grades::File { name, .. } => name.to_owned(),
                        Grades::Drafts(_) => "the form".into(),
                    },
                    problems,
                })?;
            let goals = goal::Entity::find()
                .filter(goal::Column::AgreementId.eq(row.id))
                .all(&txn)
                .await?;
            let mut grades = Vec::new();
            for g in &grading.goals {
                let goal = goals
                    .iter()
                    .find(|x| x.title == g.goal)
                    .ok_or_else(|| StoreError::OnRecord(OnRecord::Goal(g.goal.clone())))?;
                grades.push(grade::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    agreement_id: Set(row.id),
                    goal_id: Set(goal.id),
                    grade: Set(g.grade),
                    note: Set(g.note.clone()),
                    given_on: Set(on),
                    proposed: Set(proposals.get(&g.goal).map(|p| p.grade.key().to_owned())),
                    evidence: Set(proposals.get(&g.goal).map(json)),
                });
            }
            self.append_event(
                &txn,
                &ctx,
                NewEvent::new(UnitEventKind::MidwayGiven, on, Some(revision)),
                stamp,
            )
            .await?;
            grade::Entity::insert_many(grades)
                .exec_without_returning(&txn)
                .await?;
            ctx.keep_standing(&txn).await?;
            txn.commit().await?;
            Ok(Graded {
                grading,
                cycle: ctx.cycle.year,
            })
        })
    }

    /// The half-yearly status on the goals of the agreement in force: one status per
    /// goal, in the agreement's order. Kept as the event's notes (`N. title: status`).
    pub async fn give_goal_status(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        statuses: &[String],
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        let unit_id = unit.as_str();
        self.follow_up(unit_id, on, FollowUp::GoalStatus(statuses), stamp)
            .await
    }

    /// The yearly review: the agreement in force was gone through and stands as it is
    /// (a changed agreement is submitted and signed as a new revision instead).
    pub async fn review_agreement(
        &self,
        unit: &UnitId,
        on: NaiveDate,
        notes: Option<String>,
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        let unit_id = unit.as_str();
        self.follow_up(unit_id, on, FollowUp::Review(notes), stamp)
            .await
    }

    async fn follow_up(
        &self,
        unit_id: &str,
        on: NaiveDate,
        what: FollowUp<'_>,
        stamp: &Stamp,
    ) -> Result<Recorded, StoreError> {
        if let FollowUp::Review(Some(n)) = &what {
            hjul_wheel::limits::check_notes(n).map_err(StoreError::Input)?;
        }
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let ctx = self.unit_context(&txn, unit_id, on, stamp).await?;
            let what = what.clone();
            let kind = match what {
                FollowUp::GoalStatus(_) => UnitEventKind::GoalStatusGiven,
                FollowUp::Review(_) => UnitEventKind::AgreementReviewed,
            };
            // The rules first: "not open until April" is the answer, not a missing status.
            ctx.check(kind.on(on), stamp.today)?;
            let revision = ctx.facts.revision_in_force().unwrap_or(0);
            let notes = match what {
                FollowUp::GoalStatus(statuses) => {
                    let row = self.agreement_row(&txn, &ctx, revision).await?;
                    let agreement = recorded_agreement(&ctx.cycle, &row, revision)?;
                    Some(
                        agreement
                            .goal_status_notes(statuses)
                            .map_err(StoreError::Input)?,
                    )
                }
                FollowUp::Review(notes) => notes.filter(|n| !n.trim().is_empty()),
            };
            self.append_event(
                &txn,
                &ctx,
                NewEvent {
                    notes: notes.as_deref(),
                    ..NewEvent::new(kind, on, Some(revision))
                },
                stamp,
            )
            .await?;
            ctx.keep_standing(&txn).await?;
            txn.commit().await?;
            Ok(Recorded::in_cycle(ctx.cycle.year))
        })
    }

    /// The agreement in force of a unit, as recorded, for the midway form, with the
    /// grades hjul proposes for its goals with numeric criteria (by title).
    pub async fn agreement_in_force(
        &self,
        unit: &UnitId,
        stamp: &Stamp,
    ) -> Result<Option<(u32, Agreement, BTreeMap<String, Proposal>)>, StoreError> {
        let unit_id = unit.as_str();
        let (txn, _turn) = self.write().await?;
        let ctx = self.unit_context(&txn, unit_id, stamp.today, stamp).await?;
        let Some(revision) = ctx.facts.revision_in_force() else {
            txn.rollback().await?;
            return Ok(None);
        };
        let row = self.agreement_row(&txn, &ctx, revision).await?;
        let agreement = recorded_agreement(&ctx.cycle, &row, revision)?;
        let proposals = self
            .proposals_of(&txn, unit_id, &agreement, &catalogue_of(&ctx.cycle)?)
            .await?;
        txn.rollback().await?;
        Ok(Some((revision, agreement, proposals)))
    }

    /// For each goal with numeric criteria, the grade the unit's latest value of its
    /// indicator earns (see `hjul_wheel::data::propose`), values resting on too few
    /// respondents never used.
    async fn proposals_of(
        &self,
        db: &impl ConnectionTrait,
        unit_id: &str,
        agreement: &Agreement,
        catalogue: &hjul_wheel::IndicatorCatalogue,
    ) -> Result<BTreeMap<String, Proposal>, StoreError> {
        let measured: Vec<(&hjul_wheel::Goal, &str, hjul_wheel::agreement::Criteria)> = agreement
            .goals()
            .iter()
            .filter_map(|g| Some((g, g.indicator.as_ref()?.as_str(), g.measured?)))
            .collect();
        if measured.is_empty() {
            return Ok(BTreeMap::new());
        }
        let rows = crate::entity::measurement::Entity::find()
            .filter(crate::entity::measurement::Column::UnitId.eq(unit_id))
            .filter(crate::entity::measurement::Column::ReplacedBy.is_null())
            .filter(
                crate::entity::measurement::Column::Measure
                    .is_in(measured.iter().map(|(_, m, _)| *m)),
            )
            .all(db)
            .await?;
        let mut out = BTreeMap::new();
        for (goal, code, criteria) in measured {
            let Some(measure) = catalogue.get(code) else {
                continue;
            };
            let series: Vec<(Period, Reading)> = rows
                .iter()
                .filter(|r| r.measure == code)
                .filter_map(|r| {
                    let n = r.n.and_then(|n| u32::try_from(n).ok());
                    Some((
                        Period::parse(&r.period)?,
                        Reading::of(r.value, n, self.min_responses()),
                    ))
                })
                .collect();
            if let Some(p) = propose(measure, criteria, &series) {
                out.insert(goal.title.clone(), p);
            }
        }
        Ok(out)
    }

    async fn agreement_row(
        &self,
        txn: &DatabaseTransaction,
        ctx: &UnitContext,
        revision: u32,
    ) -> Result<agreement::Model, StoreError> {
        agreement::Entity::find()
            .filter(agreement::Column::Cycle.eq(ctx.cycle.year))
            .filter(agreement::Column::UnitId.eq(ctx.unit.id.as_str()))
            .filter(agreement::Column::Revision.eq(i32::try_from(revision).unwrap_or(i32::MAX)))
            .one(txn)
            .await?
            .ok_or_else(|| {
                StoreError::OnRecord(OnRecord::Revision {
                    unit: ctx.unit.id.to_string(),
                    revision,
                })
            })
    }
}
