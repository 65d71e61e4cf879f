//! Which mail a deadline calls for by a given instant: the rule the scheduler's tick
//! asks, kept here so it is pure and property-tested.
//!
//! - Nothing for a deadline that is met, nor for one that cannot be acted on (a midway
//!   status while no agreement is in force).
//! - Each party gets, of the moments that have passed, the latest one; the earlier ones
//!   are written as folded so they never go out later. That one rule is both the steady
//!   case (one moment at a time) and the catch-up after downtime (what is current, not a
//!   history).
//! - Opening notices go to the responsible party and those notified; reminders and the
//!   overdue notice only to the one who acts; the escalation one step above them. Someone
//!   who only waits for another's action is not told off.
//! - Mail about a cycle stops when the cycle ends ([`cycle_is_mailed`]).
//!
//! Each item has a key unique to (cycle, unit, deadline, moment, party), so writing the
//! same items again is a no-op: keys only ever accumulate as time passes.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::Cycle;
use crate::definition::WheelDefinition;
use crate::organisation::Party;
use crate::phase::{Deadline, Task};
use crate::reminders::{self, MomentKind};
use crate::workflow::DeadlineStatus;

/// Whether an item is to be sent, or was overtaken by a later moment before it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Folded,
}

/// One mail item a deadline calls for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueItem {
    /// Unique per (cycle, unit, deadline, moment, party): the outbox key.
    pub key: String,
    pub deadline: Deadline,
    pub kind: MomentKind,
    /// Who it goes to.
    pub party: Party,
    /// Whose deadline it is: the one who acts (named in an escalation).
    pub responsible: Party,
    /// What the recipient is to do (for an escalation: what the responsible one is to do).
    pub task: Task,
    pub due: NaiveDate,
    /// When it is due to go out.
    pub at: DateTime<Utc>,
    pub state: ItemState,
}

/// Mail about a cycle goes out until the day it ends; after that its unmet deadlines are
/// for the record (status, and the secretariat's note that the cycle ended), not for mail.
pub fn cycle_is_mailed(cycle: &Cycle, today: NaiveDate) -> bool {
    today <= cycle.ends()
}

/// The outbox key of one moment for one party. A follow-up's time (1, 2, …) is part of
/// its deadline's name (`goal_status#2`), so each time is mailed once; a deadline met
/// once a cycle keeps the key it always had.
pub fn item_key(
    year: i32,
    unit_id: Option<&str>,
    (deadline, occurrence): (Deadline, u8),
    kind: MomentKind,
    party: Party,
) -> String {
    let moment = match kind {
        MomentKind::Reminder { days_before } => format!("reminder-{days_before}"),
        other => other.key().to_owned(),
    };
    let deadline = if occurrence == 0 {
        deadline.key().to_owned()
    } else {
        format!("{}#{occurrence}", deadline.key())
    };
    format!(
        "{year}:{}:{deadline}:{moment}:{}",
        unit_id.unwrap_or("-"),
        party.key()
    )
}

/// Moments that have passed for one party: when, and which.
type Passed = Vec<(DateTime<Utc>, MomentKind)>;

/// The items `status` calls for by `now`: none for a deadline met, or waiting (for
/// another deadline, or a midway status or follow-up for an agreement in force), whose
/// own deadline is what mail is about ([`DeadlineStatus::is_actionable`]).
pub fn due_items(
    def: &WheelDefinition,
    year: i32,
    unit_id: Option<&str>,
    status: &DeadlineStatus,
    now: DateTime<Utc>,
) -> Vec<DueItem> {
    if !status.is_actionable() {
        return Vec::new();
    }
    let Some(due) = status.due else {
        return Vec::new();
    };
    // The moments passed for each party, by the party's key (a stable order).
    let mut per_party: BTreeMap<&'static str, (Party, Passed)> = BTreeMap::new();
    for m in reminders::moments(def, status) {
        if m.at > now {
            continue;
        }
        for party in &m.to {
            per_party
                .entry(party.key())
                .or_insert_with(|| (*party, Vec::new()))
                .1
                .push((m.at, m.kind));
        }
    }
    let mut items = Vec::new();
    for (party, mut moments) in per_party.into_values() {
        moments.sort();
        let last = moments.len() - 1;
        for (i, (at, kind)) in moments.into_iter().enumerate() {
            let task = if party == status.responsible || kind == MomentKind::Escalation {
                status.task
            } else {
                status.task.for_notified()
            };
            items.push(DueItem {
                key: item_key(
                    year,
                    unit_id,
                    (status.deadline, status.occurrence),
                    kind,
                    party,
                ),
                deadline: status.deadline,
                kind,
                party,
                responsible: status.responsible,
                task,
                due,
                at,
                state: if i == last {
                    ItemState::Pending
                } else {
                    ItemState::Folded
                },
            });
        }
    }
    items
}

/// The first moment after `after` at which this deadline calls for mail, if any: when the
/// scheduler must look at the unit again, though nothing about it changes. It is the
/// same rule as [`due_items`] (nothing for a met or unactionable deadline), so a unit the
/// tick skips until then cannot miss a moment.
pub fn next_moment(
    def: &WheelDefinition,
    status: &DeadlineStatus,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !status.is_actionable() || status.due.is_none() {
        return None;
    }
    reminders::moments(def, status)
        .into_iter()
        .map(|m| m.at)
        .filter(|at| *at > after)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organisation::Level;
    use crate::workflow::{Milestones, UnitEvent, UnitFacts};
    use chrono::Days;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn noon(d: NaiveDate) -> DateTime<Utc> {
        d.and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    /// A level-4 unit of cycle 2025 with its dialogue held on `held` and, optionally, an
    /// agreement submitted and signed.
    fn unit(held: NaiveDate, submitted: Option<NaiveDate>, signed: Option<NaiveDate>) -> UnitFacts {
        let mut f = UnitFacts::default().with(UnitEvent::DialogueHeld { on: held });
        if let Some(on) = submitted {
            f = f.with(UnitEvent::AgreementSubmitted { on });
        }
        if let Some(on) = signed {
            f = f.with(UnitEvent::AgreementSigned { on });
        }
        f
    }

    fn statuses(facts: &UnitFacts) -> Vec<DeadlineStatus> {
        let def = WheelDefinition::builtin();
        let plan = def.cycle(2025).unwrap();
        let ms = Milestones {
            themes_published: Some(date(2026, 2, 2)),
            ..Milestones::default()
        };
        plan.unit_deadlines(Level::new(4).unwrap(), &ms, facts)
    }

    fn of(facts: &UnitFacts, deadline: Deadline) -> DeadlineStatus {
        statuses(facts)
            .into_iter()
            .find(|s| s.deadline == deadline)
            .unwrap()
    }

    #[test]
    fn a_submitted_agreement_is_the_signers_and_the_waiting_leader_is_not_told_off() {
        let def = WheelDefinition::builtin();
        // Dialogue 2 March 2026: the agreement is due 1 April; submitted 20 March.
        let f = unit(date(2026, 3, 2), Some(date(2026, 3, 20)), None);
        let s = of(&f, Deadline::AgreementSigned);
        assert_eq!(
            (s.responsible, s.task),
            (Party::Superior, Task::SignAgreement)
        );
        let items = due_items(&def, 2025, Some("u"), &s, noon(date(2026, 4, 20)));
        let pending: Vec<(Party, MomentKind, Task)> = items
            .iter()
            .filter(|i| i.state == ItemState::Pending)
            .map(|i| (i.party, i.kind, i.task))
            .collect();
        assert_eq!(
            pending,
            vec![
                (Party::Superior, MomentKind::Overdue, Task::SignAgreement),
                // The superior's own superior hears that the signature is late.
                (
                    Party::SuperiorOfSuperior,
                    MomentKind::Escalation,
                    Task::SignAgreement
                ),
            ]
        );
        assert!(items.iter().all(|i| i.party != Party::Leader), "{items:#?}");
        assert_eq!(items[0].responsible, Party::Superior);
    }

    #[test]
    fn before_submission_the_leader_writes_it() {
        let def = WheelDefinition::builtin();
        let f = unit(date(2026, 3, 2), None, None);
        let s = of(&f, Deadline::AgreementSigned);
        assert_eq!(
            (s.responsible, s.task),
            (Party::Leader, Task::SubmitAgreement)
        );
        let items = due_items(&def, 2025, Some("u"), &s, noon(date(2026, 3, 3)));
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].party, items[0].kind, items[0].state),
            (Party::Leader, MomentKind::Opened, ItemState::Pending)
        );
        assert_eq!(items[0].key, "2025:u:agreement_signed:opened:leader");
    }

    #[test]
    fn the_leader_is_called_to_the_dialogue_the_superior_holds_it() {
        let def = WheelDefinition::builtin();
        let f = UnitFacts::default();
        let s = of(&f, Deadline::DialogueHeld);
        let items = due_items(&def, 2025, Some("u"), &s, noon(date(2026, 1, 5)));
        let got: HashSet<(Party, Task)> = items.iter().map(|i| (i.party, i.task)).collect();
        assert_eq!(
            got,
            HashSet::from([
                (Party::Superior, Task::HoldDialogue),
                (Party::Leader, Task::AttendDialogue)
            ])
        );
        // Overdue: only the superior, who holds it, is told; the leader waits for them.
        let late = due_items(&def, 2025, Some("u"), &s, noon(date(2026, 7, 2)));
        let overdue: Vec<Party> = late
            .iter()
            .filter(|i| i.kind == MomentKind::Overdue)
            .map(|i| i.party)
            .collect();
        assert_eq!(overdue, vec![Party::Superior]);
    }

    #[test]
    fn no_midway_notice_without_an_agreement_in_force() {
        let def = WheelDefinition::builtin();
        let in_q7 = noon(date(2027, 8, 2));
        let none = unit(date(2026, 3, 2), Some(date(2026, 3, 20)), None);
        let s = of(&none, Deadline::MidwayStatus);
        assert!(due_items(&def, 2025, Some("u"), &s, in_q7).is_empty());
        let signed = unit(
            date(2026, 3, 2),
            Some(date(2026, 3, 20)),
            Some(date(2026, 3, 25)),
        );
        let s = of(&signed, Deadline::MidwayStatus);
        let items = due_items(&def, 2025, Some("u"), &s, in_q7);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].task, Task::GiveMidway);
    }

    #[test]
    fn a_cycle_is_mailed_to_its_last_day() {
        let c = WheelDefinition::builtin().cycle(2025).unwrap().cycle();
        assert!(cycle_is_mailed(&c, c.ends()));
        assert!(!cycle_is_mailed(&c, c.ends() + Days::new(1)));
    }

    fn facts_strategy() -> impl Strategy<Value = UnitFacts> {
        // Days after 1 January 2026 for the dialogue, the submission and the signature,
        // each possibly missing (later ones only with the earlier ones).
        (
            proptest::option::of(0u64..200),
            proptest::option::of(0u64..60),
            proptest::option::of(0u64..60),
        )
            .prop_map(|(held, sub, sign)| {
                let base = date(2026, 1, 1);
                let Some(held) = held else {
                    return UnitFacts::default();
                };
                let held = base + Days::new(held);
                let submitted = sub.map(|d| held + Days::new(d));
                let signed = submitted.zip(sign).map(|(s, d)| s + Days::new(d));
                unit(held, submitted, signed)
            })
    }

    proptest! {
        #[test]
        fn one_pending_item_per_party_the_latest_passed_and_keys_only_accumulate(
            facts in facts_strategy(),
            day in 0u64..800,
            later in 0u64..200,
        ) {
            let def = WheelDefinition::builtin();
            let now = noon(date(2025, 10, 1) + Days::new(day));
            let then = now + chrono::Duration::days(i64::try_from(later).unwrap());
            for s in statuses(&facts) {
                let items = due_items(&def, 2025, Some("u"), &s, now);
                if s.met_on.is_some() {
                    prop_assert!(items.is_empty());
                }
                let keys: HashSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
                prop_assert_eq!(keys.len(), items.len(), "keys are unique");
                let mut parties: BTreeMap<&str, Vec<&DueItem>> = BTreeMap::new();
                for i in &items {
                    prop_assert!(i.at <= now);
                    parties.entry(i.party.key()).or_default().push(i);
                    match i.kind {
                        MomentKind::Escalation => prop_assert_eq!(i.party, s.escalate_to),
                        MomentKind::Reminder { .. } | MomentKind::Overdue => {
                            prop_assert_eq!(i.party, s.responsible);
                        }
                        MomentKind::Opened => {}
                    }
                }
                for (_, mine) in parties {
                    let pending: Vec<_> = mine.iter().filter(|i| i.state == ItemState::Pending).collect();
                    prop_assert_eq!(pending.len(), 1);
                    let latest = mine.iter().map(|i| i.at).max().unwrap();
                    prop_assert_eq!(pending[0].at, latest);
                }
                let after: HashSet<String> = due_items(&def, 2025, Some("u"), &s, then)
                    .into_iter()
                    .map(|i| i.key)
                    .collect();
                for k in keys {
                    prop_assert!(after.contains(k), "{} gone at a later instant", k);
                }
            }
        }

        /// The tick skips a unit until its next moment: nothing it would write changes
        /// before then, and something does at that moment.
        #[test]
        fn nothing_changes_before_the_next_moment_and_something_at_it(
            facts in facts_strategy(),
            day in 0u64..800,
            later in 0u64..400,
        ) {
            let def = WheelDefinition::builtin();
            let now = noon(date(2025, 10, 1) + Days::new(day));
            let then = now + chrono::Duration::days(i64::try_from(later).unwrap());
            for s in statuses(&facts) {
                let items = due_items(&def, 2025, Some("u"), &s, now);
                let next = next_moment(&def, &s, now);
                if let Some(n) = next {
                    prop_assert!(n > now);
                }
                // Any instant before the next moment gives the same items.
                let before = next.map_or(then, |n| (n - chrono::Duration::seconds(1)).min(then)).max(now);
                prop_assert_eq!(&due_items(&def, 2025, Some("u"), &s, before), &items);
                if let Some(n) = next {
                    let at = due_items(&def, 2025, Some("u"), &s, n);
                    prop_assert!(at.len() > items.len(), "the moment at {} adds an item", n);
                }
            }
        }
    }
}
