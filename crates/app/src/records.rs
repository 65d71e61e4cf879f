//! Recording what happened: a unit's events, the department's milestones, and sending a
//! dead mail again.

use chrono::NaiveDate;
use hjul_store::{
    Corrected, Correction, DraftKind, Graded, ItemId, Recorded, StoreError, Submitted,
};
use hjul_wheel::{Deadline, EventKind, GoalDraft, GradeDraft, Text};

use crate::{Actor, Attempt, Core, CoreError};

/// An event of one unit, as a person records it.
#[derive(Debug, Clone)]
pub enum UnitRecord {
    /// The quality dialogue was held; with `for_report`, its notes may be quoted in the
    /// quality report.
    Dialogue {
        on: NaiveDate,
        notes: Option<String>,
        for_report: bool,
    },
    /// The superior signed the latest revision of the agreement.
    Signature { on: NaiveDate },
    /// The half-yearly status on each goal of the agreement in force, in its order.
    GoalStatus {
        on: NaiveDate,
        statuses: Vec<String>,
    },
    /// The yearly review: the agreement in force stands as it is.
    Review {
        on: NaiveDate,
        notes: Option<String>,
    },
}

/// What became of the final report when `report_final` was recorded.
#[derive(Debug)]
pub enum FinalReport {
    /// Kept with the milestone: its SHA-256.
    Kept(String),
    /// The milestone is on record without it, for this reason (said to the person and
    /// put on record); [`Core::make_final_report`] makes it once it can be.
    NotMade(CoreError),
}

impl UnitRecord {
    /// The day it happened.
    pub fn on(&self) -> NaiveDate {
        match self {
            Self::Dialogue { on, .. }
            | Self::Signature { on }
            | Self::GoalStatus { on, .. }
            | Self::Review { on, .. } => *on,
        }
    }

    /// The kind of event it records: whose it is to record is asked of the wheel by it.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Dialogue { .. } => EventKind::DialogueHeld,
            Self::Signature { .. } => EventKind::AgreementSigned,
            Self::GoalStatus { .. } => EventKind::GoalStatusGiven,
            Self::Review { .. } => EventKind::AgreementReviewed,
        }
    }

    /// What was attempted, for the audit log's record of a refusal.
    pub fn attempted(&self) -> &'static str {
        match self {
            Self::Dialogue { .. } => "record a dialogue",
            Self::Signature { .. } => "sign an agreement",
            Self::GoalStatus { .. } => "give a status on the goals",
            Self::Review { .. } => "review the agreement",
        }
    }
}

/// An agreement as a leader hands it in: a file (the API's body, the command line's
/// file), or the editor's goals.
#[derive(Debug, Clone, Copy)]
pub enum AgreementText<'a> {
    File { text: &'a str, name: &'a str },
    Editor(&'a [GoalDraft]),
}

/// A midway status as a leader hands it in: a grades file, or the form's grades.
#[derive(Debug, Clone, Copy)]
pub enum GradesText<'a> {
    File { text: &'a str, name: &'a str },
    Form(&'a [GradeDraft]),
}

impl Core {
    /// Submits the next revision of `unit`'s agreement (a signed revision is never
    /// changed: this always adds one), checked by the wheel's rules in one transaction.
    /// From the editor, the draft it kept is dropped once the agreement is on record.
    /// `meant`: the cycle of the page it comes from (see [`Core::record_in`]).
    pub async fn submit_agreement(
        &self,
        actor: &Actor,
        unit: &str,
        (on, meant): (NaiveDate, Option<i32>),
        agreement: AgreementText<'_>,
    ) -> Result<Submitted, CoreError> {
        let attempt = Attempt {
            what: "submit an agreement",
            entity: "unit",
            id: unit,
        };
        let result = async {
            self.check_meant(on, meant)?;
            let store = self.store();
            let unit = actor.may(
                &store.wheel().definition,
                EventKind::AgreementSubmitted,
                unit,
            )?;
            let stamp = self.stamp_for(actor, unit.as_str());
            let submitted = match agreement {
                AgreementText::File { text, name } => {
                    store
                        .submit_agreement(&unit, on, text, name, &stamp)
                        .await?
                }
                AgreementText::Editor(goals) => {
                    let s = store.submit_goals(&unit, on, goals, &stamp).await?;
                    self.drop_draft(&unit, DraftKind::Agreement).await;
                    s
                }
            };
            Ok(submitted)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Gives `unit`'s midway status: every goal of the agreement in force graded. A
    /// grade other than the one hjul proposes from the data needs a note. From the form,
    /// the draft it kept is dropped once the grades are on record.
    pub async fn give_midway(
        &self,
        actor: &Actor,
        unit: &str,
        (on, meant): (NaiveDate, Option<i32>),
        grades: GradesText<'_>,
    ) -> Result<Graded, CoreError> {
        let attempt = Attempt {
            what: "give the midway status",
            entity: "unit",
            id: unit,
        };
        let result = async {
            self.check_meant(on, meant)?;
            let store = self.store();
            let unit = actor.may(&store.wheel().definition, EventKind::MidwayGiven, unit)?;
            let stamp = self.stamp_for(actor, unit.as_str());
            let graded = match grades {
                GradesText::File { text, name } => {
                    store.give_midway(&unit, on, text, name, &stamp).await?
                }
                GradesText::Form(drafts) => {
                    let g = store.give_grades(&unit, on, drafts, &stamp).await?;
                    self.drop_draft(&unit, DraftKind::Midway).await;
                    g
                }
            };
            Ok(graded)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Drops a draft whose content is on record now. A draft left behind is only
    /// offered again in the form, so a failure here is logged, not answered.
    async fn drop_draft(&self, unit: &hjul_wheel::UnitId, kind: DraftKind) {
        if let Err(e) = self.store().drop_draft(unit, kind).await {
            tracing::warn!(error = %e, unit = %unit, "a draft on record now was not dropped");
        }
    }

    /// Records an event of `unit` (as typed: text that names no unit the actor sees is
    /// refused as such): the actor's right to record it asked of the wheel, then the
    /// event checked by the wheel's rules and written with its audit row in one
    /// transaction. Says which cycle it counts in.
    pub async fn record(
        &self,
        actor: &Actor,
        unit: &str,
        record: UnitRecord,
    ) -> Result<Recorded, CoreError> {
        self.record_in(actor, unit, record, None).await
    }

    /// [`Core::record`] from a page of cycle `meant` (the dashboard's unit page): a date
    /// that falls in another cycle is refused, naming that cycle, so nothing is filed in
    /// a cycle the person was not looking at. `None`: the cycle the date falls in.
    pub async fn record_in(
        &self,
        actor: &Actor,
        unit: &str,
        record: UnitRecord,
        meant: Option<i32>,
    ) -> Result<Recorded, CoreError> {
        let attempt = Attempt {
            what: record.attempted(),
            entity: "unit",
            id: unit,
        };
        let result = async {
            self.check_meant(record.on(), meant)?;
            self.record_unchecked(actor, unit, record).await
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// A date from a page of cycle `meant` that falls in another cycle is refused,
    /// naming that cycle, so nothing is filed in a cycle the person was not looking at.
    fn check_meant(&self, on: NaiveDate, meant: Option<i32>) -> Result<(), CoreError> {
        if let Some(meant) = meant {
            self.wheel()
                .definition
                .check_meant_cycle(on, meant)
                .map_err(StoreError::from)?;
        }
        Ok(())
    }

    async fn record_unchecked(
        &self,
        actor: &Actor,
        unit: &str,
        record: UnitRecord,
    ) -> Result<Recorded, CoreError> {
        let store = self.store();
        let unit = actor.may(&store.wheel().definition, record.kind(), unit)?;
        let stamp = self.stamp_for(actor, unit.as_str());
        Ok(match record {
            UnitRecord::Dialogue {
                on,
                notes,
                for_report,
            } => {
                let notes = notes.filter(|n| !n.trim().is_empty());
                store
                    .record_dialogue_with(&unit, on, notes, for_report, &stamp)
                    .await?
            }
            UnitRecord::Signature { on } => store.sign_agreement(&unit, on, &stamp).await?,
            UnitRecord::GoalStatus { on, statuses } => {
                store.give_goal_status(&unit, on, &statuses, &stamp).await?
            }
            UnitRecord::Review { on, notes } => {
                let notes = notes.filter(|n| !n.trim().is_empty());
                store.review_agreement(&unit, on, notes, &stamp).await?
            }
        })
    }

    /// Records a department milestone of cycle `year` as met `on`: who may is asked of
    /// the wheel, which milestone takes focus themes is the store's one rule, asked
    /// before anything is made; `report_final` keeps the department's report of that
    /// day with it (laid out like any report, off the request threads, before the
    /// reports people asked for), both in one transaction. When the report cannot be
    /// laid out, the milestone is recorded all the same, so no text in the record can
    /// stop the wheel (the chiefs' agreements wait for it): the answer says why, the
    /// refusal is on record, and [`Core::make_final_report`] makes it once it can be.
    pub async fn record_milestone(
        &self,
        actor: &Actor,
        (year, milestone, on): (i32, Deadline, NaiveDate),
        themes: Option<Vec<String>>,
    ) -> Result<Option<FinalReport>, CoreError> {
        let id = format!("{year}/{}", milestone.key());
        let attempt = Attempt {
            what: "record a milestone",
            entity: "milestone",
            id: &id,
        };
        let result = async {
            let store = self.store();
            self.may_record(actor, milestone).await?;
            hjul_store::check_themes(milestone, themes.as_deref())?;
            let stamp = self.stamp(actor);
            if milestone != Deadline::ReportFinal {
                store
                    .record_milestone(year, milestone, on, themes, &stamp)
                    .await?;
                return Ok(None);
            }
            // A milestone the rules refuse is refused by the store below; the report
            // made for it is then dropped.
            match self.final_file(year, on).await {
                Ok(file) => Ok(Some(FinalReport::Kept(
                    store.record_report_final(year, on, file, &stamp).await?,
                ))),
                Err(e) if e.is_layout_failure() => {
                    store
                        .record_milestone(year, milestone, on, None, &stamp)
                        .await?;
                    tracing::warn!(cycle = year, error = %e, "report_final recorded without its report");
                    let made = Attempt {
                        what: "make the final report",
                        ..attempt.clone()
                    };
                    self.audit_refusal(stamp, &made, &e.to_string(), false)
                        .await;
                    Ok(Some(FinalReport::NotMade(e)))
                }
                Err(e) => Err(e),
            }
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Makes and keeps the final report of cycle `year` after `report_final` was
    /// recorded without it (its layout failed; the text or template that did it has
    /// since been corrected): the department's report of the milestone's day, as it
    /// would have been made then. Whoever may record `report_final` may. Returns the
    /// report's SHA-256.
    pub async fn make_final_report(&self, actor: &Actor, year: i32) -> Result<String, CoreError> {
        let id = format!("{year}/report_final");
        let attempt = Attempt {
            what: "make the final report",
            entity: "milestone",
            id: &id,
        };
        let result = async {
            self.may_record(actor, Deadline::ReportFinal).await?;
            let store = self.store();
            let on = store
                .milestones(year)
                .await?
                .into_iter()
                .find(|m| m.milestone == Deadline::ReportFinal)
                .map(|m| m.met_on)
                .ok_or_else(|| {
                    StoreError::Conflict(Text::new("report.final_not_recorded").arg("cycle", year))
                })?;
            if store.final_report_sha256(year).await?.is_some() {
                return Err(StoreError::Conflict(
                    Text::new("report.final_kept").arg("cycle", year),
                )
                .into());
            }
            let file = self.final_file(year, on).await?;
            Ok(store
                .keep_final_report(year, file, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Whether `actor` may record `milestone` (from `responsible` in `wheel.toml`).
    async fn may_record(&self, actor: &Actor, milestone: Deadline) -> Result<(), CoreError> {
        let store = self.store();
        let root = store.directory().await?.root_id().map(str::to_owned);
        actor.may_record_milestone(&store.wheel().definition, milestone, root.as_deref())?;
        Ok(())
    }

    /// The final report of cycle `year`, `report_final` met `on`: dated by it and
    /// showing the record as of that day, laid out before the reports people asked for.
    async fn final_file(
        &self,
        year: i32,
        on: NaiveDate,
    ) -> Result<hjul_store::FinalReportFile, CoreError> {
        let report = hjul_report::final_report(self.store(), year, on).await?;
        self.render_first(move |t| hjul_report::final_file(t, &report))
            .await
    }

    /// Corrects a recorded event of `unit` (the secretariat's): redated, moved to
    /// another unit or withdrawn, with the reason. The store replays the unit's whole
    /// corrected history through the wheel's rules before anything is written; the
    /// deadlines and the unsent mail follow in the same transaction.
    pub async fn correct(
        &self,
        actor: &Actor,
        unit: &str,
        event: uuid::Uuid,
        correction: Correction,
        reason: &str,
    ) -> Result<Corrected, CoreError> {
        let attempt = Attempt {
            what: "correct a record",
            entity: "unit",
            id: unit,
        };
        let result = async {
            actor.require_secretariat("correcting a record")?;
            let unit = actor.may_see(unit)?;
            Ok(self
                .store()
                .correct_event(&unit, event, correction, reason, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Sends a dead mail item again (the secretariat's): pending once more, to go at the
    /// next tick. Returns the item as it now stands.
    pub async fn retry_item(
        &self,
        actor: &Actor,
        id: ItemId,
    ) -> Result<hjul_store::OutboxItem, CoreError> {
        let text = id.to_string();
        let attempt = Attempt {
            what: "retry an outbox item",
            entity: "outbox_item",
            id: &text,
        };
        let result = async {
            actor.require_secretariat("the mail queue")?;
            Ok(self.store().retry_item(id, &self.stamp(actor)).await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }
}
