//! Corrections: the secretariat puts right a recorded event — its date, the unit it was
//! recorded against, or that it happened at all — with a reason. A correction is a record
//! of its own that supersedes the event; the event stays on record, marked as
//! superseded, and both are in the audit log. The unit's whole history, corrected, is
//! checked again by the wheel's rules before anything is written, its deadlines follow,
//! and so does its unsent mail.

use chrono::NaiveDate;
use hjul_wheel::reminders::{self, MomentKind};
use hjul_wheel::{
    DeadlineStatus, EventKind, Level, Milestones, Text, UnitFacts, UnitId, WheelDefinition,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{agreement, correction, cycle, goal, grade, outbox_item, unit, unit_event};
use crate::facts::{
    definition_of, fold_events, in_order, level_on_record as level_of, milestones_of,
};
use crate::outbox::hand_over;
use crate::outbox::{Kind, State};
use crate::{OnRecord, Stamp, Store, StoreError};

/// What is wrong with a recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Correction {
    /// It happened on another day.
    Redate { on: NaiveDate },
    /// It was recorded against the wrong unit (dialogues only: an agreement is written
    /// for its unit, so a misplaced one is withdrawn and submitted again).
    Move { unit_id: UnitId },
    /// It did not happen.
    Withdraw,
}

impl Correction {
    pub fn key(&self) -> &'static str {
        self.action().key()
    }

    /// What it does, without its details.
    pub fn action(&self) -> CorrectionAction {
        match self {
            Self::Redate { .. } => CorrectionAction::Redate,
            Self::Move { .. } => CorrectionAction::Move,
            Self::Withdraw => CorrectionAction::Withdraw,
        }
    }
}

/// What a correction does, by itself: what a form or a request names.
#[derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CorrectionAction {
    Redate,
    Move,
    Withdraw,
}

impl CorrectionAction {
    pub const ALL: [CorrectionAction; 3] = [Self::Redate, Self::Move, Self::Withdraw];

    pub fn key(self) -> &'static str {
        match self {
            Self::Redate => "redate",
            Self::Move => "move",
            Self::Withdraw => "withdraw",
        }
    }
}

/// A correction made.
#[derive(Debug, Clone, Serialize)]
pub struct Corrected {
    pub id: Uuid,
    pub cycle: i32,
    pub unit_id: String,
    pub kind: EventKind,
    /// The event that takes the corrected one's place, if any.
    pub new_event: Option<Uuid>,
    /// The unit the event is now recorded against (another one after a move).
    pub now_at: String,
}

fn refused(text: Text) -> StoreError {
    StoreError::Input(text)
}

/// One unit's events in force with a change applied, replayed through the wheel's rules
/// in the wheel's order: the facts they make, or the first rule they break. Each event
/// must also still concern the revision it was recorded for (a signature its revision, a
/// midway status the revision in force), or the agreement's rows would no longer match
/// the facts.
/// The event a correction changes, as the replay sees it: dated anew (a redate, or a
/// dialogue moved here) or gone (withdrawn, or a dialogue moved away). A rule the replay
/// breaks is then told as the clash between that event and the one it broke on.
#[derive(Clone, Copy)]
enum Changed {
    At(EventKind, NaiveDate, Uuid),
    Gone(EventKind, NaiveDate),
}

/// The refusal of a correction that breaks a rule: in the person's terms where the clash
/// is between the changed event and another (which comes first in the wheel, and its
/// date), else the wheel's rule.
fn clash(
    changed: Changed,
    list: &[(EventKind, NaiveDate, i32, Uuid)],
    (kind, on, id): (EventKind, NaiveDate, Uuid),
    rule: &hjul_wheel::Refusal,
) -> StoreError {
    let name = |k: EventKind| hjul_wheel::text::key("event", k.key());
    let text = match changed {
        // Another event, later in the wheel, now comes before the one dated anew.
        Changed::At(ck, con, cid) if cid != id && kind.rank() > ck.rank() => Some(
            Text::new("correction.clash_after")
                .arg("changed", name(ck))
                .arg("new_on", con)
                .arg("event", name(kind))
                .arg("on", on),
        ),
        // The one dated anew now comes before an event earlier in the wheel.
        Changed::At(ck, con, cid) if cid == id => list
            .iter()
            .find(|(k, d, _, _)| *d > con && k.rank() < ck.rank())
            .map(|(k, d, _, _)| {
                Text::new("correction.clash_before")
                    .arg("changed", name(ck))
                    .arg("new_on", con)
                    .arg("event", name(*k))
                    .arg("on", *d)
            }),
        // An event later in the wheel rests on the one taken away.
        Changed::Gone(ck, con) if kind.rank() > ck.rank() => Some(
            Text::new("correction.clash_gone")
                .arg("changed", name(ck))
                .arg("old_on", con)
                .arg("event", name(kind))
                .arg("on", on),
        ),
        _ => None,
    };
    StoreError::Conflict(
        text.unwrap_or_else(|| Text::new("correction.breaks").arg("rule", rule.text())),
    )
}

fn replay(
    def: &WheelDefinition,
    year: i32,
    level: Level,
    milestones: &Milestones,
    (events, changed): (&[(EventKind, NaiveDate, i32, Uuid)], Changed),
    today: NaiveDate,
) -> Result<UnitFacts, StoreError> {
    let plan = def.cycle(year)?;
    let mut list = events.to_vec();
    list.sort_by_key(|(k, on, revision, id)| (*on, *revision, k.rank(), *id));
    let mut facts = UnitFacts::default();
    for &(kind, on, revision, id) in &list {
        let latest = facts.agreement.as_ref().map_or(0, |a| a.revision);
        let in_force = facts.revision_in_force().unwrap_or(0);
        let expected = match kind {
            EventKind::DialogueHeld => i64::from(revision),
            EventKind::AgreementSubmitted => i64::from(latest) + 1,
            EventKind::AgreementSigned => i64::from(latest),
            EventKind::MidwayGiven | EventKind::GoalStatusGiven | EventKind::AgreementReviewed => {
                i64::from(in_force)
            }
        };
        if i64::from(revision) != expected {
            return Err(StoreError::Conflict(
                Text::new("correction.revisions")
                    .arg("event", hjul_wheel::text::key("event", kind.key()))
                    .arg("revision", revision),
            ));
        }
        facts = plan
            .apply(level, milestones, &facts, kind.on(on), today)
            .map_err(|r| clash(changed, &list, (kind, on, id), &r))?;
    }
    Ok(facts)
}

fn as_tuple(kind: EventKind, e: &unit_event::Model) -> (EventKind, NaiveDate, i32, Uuid) {
    (kind, e.on, e.revision.unwrap_or(0), e.id)
}

impl Store {
    /// Corrects a recorded event of `unit_id` (the secretariat's), with a reason.
    pub async fn correct_event(
        &self,
        unit: &UnitId,
        event_id: Uuid,
        correction: Correction,
        reason: &str,
        stamp: &Stamp,
    ) -> Result<Corrected, StoreError> {
        let unit_id = unit.as_str();
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(refused(Text::new("correction.no_reason")));
        }
        hjul_wheel::limits::check_notes(reason).map_err(StoreError::Input)?;
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let old = unit_event::Entity::find_by_id(event_id)
                .one(&txn)
                .await?
                .filter(|e| e.superseded_by.is_none() && e.unit_id == unit_id)
                .ok_or_else(|| {
                    StoreError::NoEvent(
                        Text::new("correction.no_event").arg("id", event_id.to_string()),
                    )
                })?;
            let kind = old.kind;
            let c = cycle::Entity::find_by_id(old.cycle)
                .one(&txn)
                .await?
                .ok_or(StoreError::OnRecord(OnRecord::Cycle(old.cycle)))?;
            let def = definition_of(&c)?;
            let milestones = milestones_of(&txn, old.cycle, None).await?;
            let source = unit::Entity::find_by_id(old.unit_id.as_str())
                .one(&txn)
                .await?
                .ok_or_else(|| StoreError::UnknownUnit(old.unit_id.clone()))?;
            let events = unit_event::Entity::find()
                .filter(unit_event::Column::Cycle.eq(old.cycle))
                .filter(unit_event::Column::UnitId.eq(old.unit_id.as_str()))
                .order_by_asc(unit_event::Column::Id)
                .all(&txn)
                .await?;
            let others: Vec<_> = in_order(&events)
                .into_iter()
                .filter(|(_, e)| e.id != old.id)
                .map(|(k, e)| as_tuple(k, e))
                .collect();
            let revision = old.revision.unwrap_or(0);

            // Only what the records can follow: the latest revision's submission, and a
            // signature whose revision has no midway status yet.
            if correction == Correction::Withdraw {
                let later =
                    |k: EventKind| others.iter().any(|(x, _, r, _)| *x == k && *r > revision);
                if kind == EventKind::AgreementSubmitted && later(EventKind::AgreementSubmitted) {
                    return Err(StoreError::Conflict(Text::new("correction.not_latest")));
                }
                if kind == EventKind::AgreementSigned
                    && others
                        .iter()
                        .any(|(x, _, r, _)| *x == EventKind::MidwayGiven && *r == revision)
                {
                    return Err(StoreError::Conflict(Text::new("correction.midway_first")));
                }
            }

            let correction_id = Uuid::now_v7();
            let new_id = Uuid::now_v7();
            let (target, new_event) = match &correction {
                Correction::Redate { on } => {
                    if *on == old.on {
                        return Err(StoreError::Conflict(Text::new("correction.same_date")));
                    }
                    let mut after = others.clone();
                    after.push((kind, *on, revision, new_id));
                    let facts = replay(
                        &def,
                        old.cycle,
                        level_of(&source)?,
                        &milestones,
                        (&after, Changed::At(kind, *on, new_id)),
                        stamp.today,
                    )?;
                    (
                        vec![(source.clone(), facts)],
                        Some((old.unit_id.clone(), *on)),
                    )
                }
                Correction::Withdraw => {
                    let facts = replay(
                        &def,
                        old.cycle,
                        level_of(&source)?,
                        &milestones,
                        (&others, Changed::Gone(kind, old.on)),
                        stamp.today,
                    )?;
                    (vec![(source.clone(), facts)], None)
                }
                Correction::Move { unit_id } => {
                    if kind != EventKind::DialogueHeld {
                        return Err(StoreError::Conflict(Text::new(
                            "correction.move_dialogue_only",
                        )));
                    }
                    if unit_id.as_str() == old.unit_id {
                        return Err(StoreError::Conflict(Text::new("correction.same_unit")));
                    }
                    let to = unit::Entity::find_by_id(unit_id.as_str())
                        .one(&txn)
                        .await?
                        .ok_or_else(|| StoreError::UnknownUnit(unit_id.to_string()))?;
                    if !to.active {
                        return Err(StoreError::InactiveUnit(unit_id.to_string()));
                    }
                    let theirs = unit_event::Entity::find()
                        .filter(unit_event::Column::Cycle.eq(old.cycle))
                        .filter(unit_event::Column::UnitId.eq(unit_id.as_str()))
                        .all(&txn)
                        .await?;
                    let mut after: Vec<_> = in_order(&theirs)
                        .into_iter()
                        .map(|(k, e)| as_tuple(k, e))
                        .collect();
                    after.push((kind, old.on, 0, new_id));
                    let here = replay(
                        &def,
                        old.cycle,
                        level_of(&source)?,
                        &milestones,
                        (&others, Changed::Gone(kind, old.on)),
                        stamp.today,
                    )?;
                    let there = replay(
                        &def,
                        old.cycle,
                        level_of(&to)?,
                        &milestones,
                        (&after, Changed::At(kind, old.on, new_id)),
                        stamp.today,
                    )?;
                    (
                        vec![(source.clone(), here), (to.clone(), there)],
                        Some((to.id.clone(), old.on)),
                    )
                }
            };

            correction::Entity::insert(correction::ActiveModel {
                id: Set(correction_id),
                cycle: Set(old.cycle),
                unit_id: Set(old.unit_id.clone()),
                event_id: Set(old.id),
                action: Set(correction.action()),
                new_event_id: Set(new_event.as_ref().map(|_| new_id)),
                reason: Set(reason.to_owned()),
                recorded_at: Set(stamp.at),
                recorded_by: Set(stamp.actor.clone()),
            })
            .exec_without_returning(&txn)
            .await?;
            // Only if nobody corrected it meanwhile: two corrections of one event at once
            // cannot both take effect.
            // Who acted on each deadline before: a deadline that passes to another (a
            // withdrawn submission is the leader's again) is handed over as an event would.
            let mut before = Vec::new();
            let started = crate::facts::started_at(&txn, old.cycle).await?;
            for (u, _) in &target {
                let events = unit_event::Entity::find()
                    .filter(unit_event::Column::Cycle.eq(old.cycle))
                    .filter(unit_event::Column::UnitId.eq(u.id.as_str()))
                    .all(&txn)
                    .await?;
                let mut facts = fold_events(&events);
                facts.joined = crate::facts::joined(u, started, &self.wheel.definition);
                before.push(facts);
            }
            let taken = unit_event::Entity::update_many()
                .col_expr(
                    unit_event::Column::SupersededBy,
                    sea_orm::sea_query::Expr::value(correction_id),
                )
                .filter(unit_event::Column::Id.eq(old.id))
                .filter(unit_event::Column::SupersededBy.is_null())
                .exec(&txn)
                .await?
                .rows_affected;
            if taken != 1 {
                return Err(StoreError::NoEvent(
                    Text::new("correction.no_event").arg("id", old.id.to_string()),
                ));
            }
            if let Some((unit_id, on)) = &new_event {
                unit_event::Entity::insert(unit_event::ActiveModel {
                    id: Set(new_id),
                    cycle: Set(old.cycle),
                    unit_id: Set(unit_id.clone()),
                    kind: Set(old.kind),
                    on: Set(*on),
                    revision: Set(old.revision),
                    notes: Set(old.notes.clone()),
                    for_report: Set(old.for_report),
                    recorded_at: Set(stamp.at),
                    recorded_by: Set(stamp.actor.clone()),
                    superseded_by: Set(None),
                })
                .exec_without_returning(&txn)
                .await?;
            }
            let source_file = self
                .follow_records(
                    &txn,
                    &old,
                    kind,
                    &correction,
                    new_event.as_ref().map(|(_, on)| *on),
                )
                .await?;

            for ((u, facts), was) in target.iter().zip(&before) {
                let plan = def.cycle(old.cycle)?;
                // A late joiner keeps its grace after a correction too.
                let mut facts = facts.clone();
                facts.joined = crate::facts::joined(u, started, &self.wheel.definition);
                let statuses = plan.unit_deadlines(level_of(u)?, &milestones, &facts);
                reschedule(&txn, &def, old.cycle, &u.id, &statuses, stamp.at).await?;
                let was = plan.unit_deadlines(level_of(u)?, &milestones, was);
                for now in statuses.iter().filter(|s| s.met_on.is_none()) {
                    if let Some(was) = was.iter().find(|w| w.deadline == now.deadline)
                        && was.responsible != now.responsible
                    {
                        hand_over(&txn, old.cycle, &u.id, was, now, &def, stamp).await?;
                    }
                }
            }

            #[derive(Serialize)]
            struct Before<'a> {
                event: Uuid,
                kind: EventKind,
                unit_id: &'a str,
                on: NaiveDate,
                revision: Option<i32>,
                notes: Option<&'a str>,
                /// The agreement file of a withdrawn submission, kept here for good.
                #[serde(skip_serializing_if = "Option::is_none")]
                agreement: Option<&'a str>,
            }
            #[derive(Serialize)]
            struct After<'a> {
                correction: &'a Correction,
                reason: &'a str,
                new_event: Option<Uuid>,
            }
            audit::log(
                &txn,
                stamp,
                Change::new("unit.correct", "unit", old.unit_id.clone())
                    .before(&Before {
                        event: old.id,
                        kind: old.kind,
                        unit_id: &old.unit_id,
                        on: old.on,
                        revision: old.revision,
                        notes: old.notes.as_deref(),
                        agreement: source_file.as_deref(),
                    })
                    .after(&After {
                        correction: &correction,
                        reason,
                        new_event: new_event.as_ref().map(|_| new_id),
                    }),
            )
            .await?;
            // Both units of a move stand differently now.
            let moved: Vec<String> = target.iter().map(|(u, _)| u.id.clone()).collect();
            crate::standing::refresh(&txn, old.cycle, crate::standing::Which::Units(&moved))
                .await?;
            txn.commit().await?;
            let now_at = match &correction {
                Correction::Move { unit_id } => unit_id.to_string(),
                _ => old.unit_id.clone(),
            };
            Ok(Corrected {
                id: correction_id,
                cycle: old.cycle,
                unit_id: old.unit_id,
                kind,
                new_event: new_event.map(|_| new_id),
                now_at,
            })
        })
    }

    /// The agreement, its goals and grades follow a corrected event. Returns the
    /// agreement file of a withdrawn submission (for the audit row).
    async fn follow_records(
        &self,
        txn: &DatabaseTransaction,
        old: &unit_event::Model,
        kind: EventKind,
        correction: &Correction,
        new_on: Option<NaiveDate>,
    ) -> Result<Option<String>, StoreError> {
        if kind == EventKind::DialogueHeld {
            return Ok(None);
        }
        let Some(row) = agreement::Entity::find()
            .filter(agreement::Column::Cycle.eq(old.cycle))
            .filter(agreement::Column::UnitId.eq(old.unit_id.as_str()))
            .filter(agreement::Column::Revision.eq(old.revision.unwrap_or(0)))
            .one(txn)
            .await?
        else {
            return Ok(None);
        };
        match (kind, correction) {
            (EventKind::AgreementSubmitted, Correction::Redate { .. }) => {
                let mut am = row.into_active_model();
                am.submitted_on = Set(new_on.unwrap_or(old.on));
                am.update(txn).await?;
            }
            (EventKind::AgreementSubmitted, Correction::Withdraw) => {
                let source = row.source.clone();
                goal::Entity::delete_many()
                    .filter(goal::Column::AgreementId.eq(row.id))
                    .exec(txn)
                    .await?;
                agreement::Entity::delete_by_id(row.id).exec(txn).await?;
                return Ok(Some(source));
            }
            (EventKind::AgreementSigned, Correction::Redate { .. }) => {
                let mut am = row.into_active_model();
                am.signed_on = Set(new_on);
                am.update(txn).await?;
            }
            (EventKind::AgreementSigned, Correction::Withdraw) => {
                let mut am = row.into_active_model();
                am.signed_on = Set(None);
                am.update(txn).await?;
            }
            (EventKind::MidwayGiven, Correction::Redate { .. }) => {
                grade::Entity::update_many()
                    .col_expr(
                        grade::Column::GivenOn,
                        sea_orm::sea_query::Expr::value(new_on.unwrap_or(old.on)),
                    )
                    .filter(grade::Column::AgreementId.eq(row.id))
                    .exec(txn)
                    .await?;
            }
            (EventKind::MidwayGiven, Correction::Withdraw) => {
                grade::Entity::delete_many()
                    .filter(grade::Column::AgreementId.eq(row.id))
                    .exec(txn)
                    .await?;
            }
            _ => {}
        }
        Ok(None)
    }

    /// The corrections of a unit's events in a cycle, oldest first.
    pub async fn corrections(
        &self,
        unit: &UnitId,
        cycle: i32,
    ) -> Result<Vec<correction::Model>, StoreError> {
        let unit_id = unit.as_str();
        Ok(correction::Entity::find()
            .filter(correction::Column::Cycle.eq(cycle))
            .filter(
                sea_orm::Condition::any()
                    .add(correction::Column::UnitId.eq(unit_id))
                    .add(
                        correction::Column::NewEventId.in_subquery(
                            sea_orm::sea_query::Query::select()
                                .column(unit_event::Column::Id)
                                .from(unit_event::Entity)
                                .and_where(unit_event::Column::UnitId.eq(unit_id))
                                .to_owned(),
                        ),
                    ),
            )
            .order_by_asc(correction::Column::Id)
            .all(&self.db)
            .await?)
    }
}

/// A unit's unsent mail follows its deadlines after a correction: pending items move to
/// the new dates (a moved due date is a moved calendar entry when the mail goes), items of
/// a deadline now met (or waiting again) are voided, and an item voided when its deadline
/// was met comes back when a correction un-meets it — for the moments still ahead, and for
/// the latest moment passed, as after downtime: a passed moment that a later passed one
/// replaces is folded, never sent late. An item whose mail went out (it has a message id)
/// is never brought back.
pub(crate) async fn reschedule(
    db: &impl ConnectionTrait,
    def: &WheelDefinition,
    year: i32,
    unit_id: &str,
    statuses: &[DeadlineStatus],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    for status in statuses {
        let items = outbox_item::Entity::find()
            .filter(outbox_item::Column::Cycle.eq(year))
            .filter(outbox_item::Column::UnitId.eq(unit_id))
            .filter(outbox_item::Column::Deadline.eq(status.deadline))
            .filter(outbox_item::Column::State.is_in([State::Pending, State::Void]))
            .filter(outbox_item::Column::MessageId.is_null())
            .all(db)
            .await?;
        if items.is_empty() {
            continue;
        }
        let moments = if status.met_on.is_some() {
            Vec::new()
        } else {
            reminders::moments(def, status)
        };
        let matches = |m: &reminders::Moment, item: &outbox_item::Model| {
            let kind_matches = item.kind == Kind::of(m.kind)
                && match m.kind {
                    MomentKind::Reminder { days_before } => {
                        item.days_before == i32::try_from(days_before).ok()
                    }
                    _ => true,
                };
            kind_matches && m.to.contains(&item.party)
        };
        for item in items {
            let moment = moments.iter().find(|m| matches(m, &item));
            // The latest moment passed for this item's party, of all the deadline's.
            let latest_passed = moments
                .iter()
                .filter(|m| m.at <= now && m.to.contains(&item.party))
                .map(|m| m.at)
                .max();
            let pending = item.state == State::Pending;
            let mut am = item.clone().into_active_model();
            match moment {
                None if pending => am.state = Set(State::Void),
                None => continue,
                Some(m) => {
                    let current = m.at > now || latest_passed == Some(m.at);
                    if current {
                        am.state = Set(State::Pending);
                        am.due_on = Set(status.due);
                        am.due_at = Set(m.at);
                        am.next_attempt_at = Set(m.at);
                    } else if pending {
                        am.state = Set(State::Folded);
                    } else {
                        continue;
                    }
                }
            }
            am.update(db).await?;
        }
    }
    Ok(())
}
