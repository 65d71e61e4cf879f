//! Where a unit stands on a day: its step, its next deadline, how late it is and who is
//! to act. This is the row `hjul status` prints and the dashboard draws.

use chrono::NaiveDate;
use serde::Serialize;

use crate::organisation::{Level, Party};
use crate::phase::Deadline;
use crate::workflow::{CyclePlan, DeadlineStatus, Milestones, Step, UnitFacts};

/// The state of a unit's agreement, as a manager reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementState {
    /// Submitted to the superior, not signed yet (a first draft or a new revision).
    AwaitingSignature,
    InForce,
    MidwayGiven,
}

impl AgreementState {
    pub const ALL: [AgreementState; 3] = [
        AgreementState::AwaitingSignature,
        AgreementState::InForce,
        AgreementState::MidwayGiven,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::AwaitingSignature => "awaiting_signature",
            Self::InForce => "in_force",
            Self::MidwayGiven => "midway_given",
        }
    }

    /// The state a key names.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// A unit's standing on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub step: Option<Step>,
    /// The first of the unit's deadlines not met yet, in the order of the wheel, when its
    /// due date is known.
    pub next_deadline: Option<NextDeadline>,
    /// Calendar days the next deadline is past due, 0 when it is not.
    pub overdue_days: i64,
    /// Who is to act on the next deadline; the unit's leader when nothing is due.
    pub responsible: Party,
    pub agreement: Option<AgreementState>,
    pub deadlines: Vec<DeadlineStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NextDeadline {
    pub deadline: Deadline,
    pub due: NaiveDate,
}

impl NextDeadline {
    /// Calendar days past due on `today`, 0 when not overdue: the one part of where a unit
    /// stands that changes with the day alone.
    pub fn overdue_days(&self, today: NaiveDate) -> i64 {
        (today - self.due).num_days().max(0)
    }
}

impl CyclePlan<'_> {
    pub fn standing(
        &self,
        level: Level,
        milestones: &Milestones,
        facts: &UnitFacts,
        today: NaiveDate,
    ) -> Standing {
        let mut deadlines = self.unit_deadlines(level, milestones, facts);
        deadlines.sort_by_key(|d| d.deadline);
        let first_open = deadlines.iter().find(|d| d.met_on.is_none());
        let next_deadline = first_open.and_then(|d| {
            d.due.map(|due| NextDeadline {
                deadline: d.deadline,
                due,
            })
        });
        let overdue_days = first_open.map_or(0, |d| d.overdue_days(today));
        let responsible = first_open.map_or(Party::Leader, |d| d.responsible);
        let agreement = facts.agreement.as_ref().map(|a| {
            if a.awaits_signature() {
                AgreementState::AwaitingSignature
            } else if a.midway_given_on.is_some() {
                AgreementState::MidwayGiven
            } else {
                AgreementState::InForce
            }
        });
        Standing {
            step: self.step(level, milestones, facts),
            next_deadline,
            overdue_days,
            responsible,
            agreement,
            deadlines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WheelDefinition;
    use crate::workflow::UnitEvent;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The store keeps steps, parties and agreement states by key: each key names its
    /// value again.
    #[test]
    fn keys_parse_back() {
        for s in Step::ALL {
            assert_eq!(Step::parse(s.key()), Some(s));
        }
        for a in AgreementState::ALL {
            assert_eq!(AgreementState::parse(a.key()), Some(a));
        }
        for p in [
            Party::Secretariat,
            Party::Director,
            Party::Leader,
            Party::Superior,
            Party::SuperiorOfSuperior,
        ] {
            assert_eq!(Party::parse(p.key()), Some(p));
        }
        assert_eq!(Step::parse("in force"), None);
    }

    #[test]
    fn a_daycare_house_five_days_late_with_its_agreement() {
        let def = WheelDefinition::builtin();
        let plan = def.cycle(2025).unwrap();
        let l4 = Level::new(4).unwrap();
        let ms = Milestones {
            themes_published: Some(date(2026, 3, 2)),
            ..Milestones::default()
        };
        let f = UnitFacts::default().with(UnitEvent::DialogueHeld {
            on: date(2026, 3, 14),
        });
        // DOMAIN.md: "dialogue held 2026-03-14, agreement draft due 2026-04-13, 5 days overdue".
        let s = plan.standing(l4, &ms, &f, date(2026, 4, 18));
        assert_eq!(s.step, Some(Step::AwaitingAgreement));
        assert_eq!(
            s.next_deadline,
            Some(NextDeadline {
                deadline: Deadline::AgreementSigned,
                due: date(2026, 4, 13)
            })
        );
        assert_eq!(s.overdue_days, 5);
        assert_eq!(s.responsible, Party::Leader);
        assert_eq!(s.agreement, None);
        let f = f
            .with(UnitEvent::AgreementSubmitted {
                on: date(2026, 4, 20),
            })
            .with(UnitEvent::AgreementSigned {
                on: date(2026, 4, 22),
            });
        let s = plan.standing(l4, &ms, &f, date(2026, 5, 1));
        assert_eq!(s.agreement, Some(AgreementState::InForce));
        assert_eq!(s.next_deadline.unwrap().deadline, Deadline::MidwayStatus);
        assert_eq!(s.overdue_days, 0);
    }

    #[test]
    fn before_the_dialogue_the_superior_is_responsible_and_a_waiting_agreement_has_no_date() {
        let def = WheelDefinition::builtin();
        let plan = def.cycle(2025).unwrap();
        let l3 = Level::new(3).unwrap();
        let s = plan.standing(
            l3,
            &Milestones::default(),
            &UnitFacts::default(),
            date(2026, 7, 3),
        );
        assert_eq!(s.next_deadline.unwrap().due, date(2026, 6, 30));
        assert_eq!(s.overdue_days, 3);
        assert_eq!(s.responsible, Party::Superior);
        let f = UnitFacts::default().with(UnitEvent::DialogueHeld {
            on: date(2026, 2, 1),
        });
        let s = plan.standing(l3, &Milestones::default(), &f, date(2026, 3, 1));
        assert_eq!(s.next_deadline, None);
        assert_eq!(s.step, Some(Step::AwaitingAgreement));
        // The director: no steps, nothing due.
        let s = plan.standing(
            Level::DIRECTOR,
            &Milestones::default(),
            &UnitFacts::default(),
            date(2026, 3, 1),
        );
        assert_eq!(
            (s.step, s.next_deadline, s.responsible),
            (None, None, Party::Leader)
        );
    }
}
