//! Where a unit stands on a day: its step, its next deadline, how late it is and who is
//! to act. This is the row `hjul status` prints and the dashboard draws.

use chrono::NaiveDate;
use serde::Serialize;

use crate::organisation::{Level, Party};
use crate::phase::Deadline;
use crate::workflow::{CyclePlan, DeadlineStatus, Milestones, Step, UnitFacts};

/// The state of a unit's agreement, as a manager reads it.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
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
        crate::workflow::days_overdue(self.due, today)
    }

    /// Due today or within the next `soon_days` days ([`ReminderRule::soon_days`]), and
    /// so not overdue.
    ///
    /// [`ReminderRule::soon_days`]: crate::definition::ReminderRule::soon_days
    pub fn is_due_soon(&self, today: NaiveDate, soon_days: u32) -> bool {
        self.due >= today
            && today
                .checked_add_days(chrono::Days::new(u64::from(soon_days)))
                .is_none_or(|end| self.due <= end)
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
        let next = crate::workflow::next_deadline(&deadlines);
        let next_deadline = next.and_then(|d| {
            d.due.filter(|_| d.is_actionable()).map(|due| NextDeadline {
                deadline: d.deadline,
                due,
            })
        });
        let overdue_days = next_deadline.map_or(0, |n| n.overdue_days(today));
        let responsible = next.map_or(Party::Leader, |d| d.responsible);
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
    use crate::workflow::{DeadlineState, UnitEvent};

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
        // Signed: the next thing due is the first status on the goals, not the midway
        // status a year later.
        let first_status = s
            .deadlines
            .iter()
            .find(|d| d.deadline == Deadline::GoalStatus && d.occurrence == 1)
            .unwrap();
        assert_eq!(
            s.next_deadline,
            Some(NextDeadline {
                deadline: Deadline::GoalStatus,
                due: first_status.due.unwrap()
            })
        );
        assert_eq!(s.overdue_days, 0);
        // Not given: overdue in the unit's table, and so in its standing (the status list,
        // the exports, the digest), with the same days.
        let late = first_status.due.unwrap() + chrono::Days::new(9);
        let s = plan.standing(l4, &ms, &f, late);
        let overdue: Vec<(Deadline, u8, i64)> = s
            .deadlines
            .iter()
            .filter(|d| d.overdue_days(late) > 0)
            .map(|d| (d.deadline, d.occurrence, d.overdue_days(late)))
            .collect();
        assert_eq!(overdue, vec![(Deadline::GoalStatus, 1, 9)]);
        assert_eq!(s.next_deadline.unwrap().deadline, Deadline::GoalStatus);
        assert_eq!(s.overdue_days, 9);
        assert_eq!(s.responsible, Party::Leader);
    }

    /// A unit's history: each kind of event on a day (days after 1 October 2025), kept
    /// where the wheel allows it, in date order.
    fn history() -> impl proptest::strategy::Strategy<Value = Vec<(u8, u64)>> {
        proptest::collection::vec((0u8..6, 0u64..760), 0..10)
    }

    proptest::proptest! {
        /// One fact, one answer: on every day of the cycle, the deadlines overdue in a
        /// unit's table are those the mail plan writes late mail about, the unit's
        /// standing (what the status list, the overview, the exports and the digest show)
        /// is overdue exactly when one is, by the most days, naming one of them, and a
        /// deadline due soon is never overdue.
        #[test]
        fn overdue_is_one_set_in_the_table_the_standing_and_the_mail(
            mut events in history(),
            level in 2u8..5,
            themes in proptest::option::of(100u64..200),
            report in proptest::option::of(300u64..400),
            days in proptest::collection::vec(0u64..760, 1..6),
        ) {
            use chrono::Days;
            let def = WheelDefinition::builtin();
            let plan = def.cycle(2025).unwrap();
            let start = date(2025, 10, 1);
            let level = Level::new(level).unwrap();
            let ms = Milestones {
                themes_published: themes.map(|d| start + Days::new(d)),
                report_final: report.map(|d| start + Days::new(d)),
                ..Milestones::default()
            };
            events.sort_by_key(|(_, d)| *d);
            let mut facts = UnitFacts::default();
            for (kind, day) in events {
                let on = start + Days::new(day);
                let event = match kind {
                    0 => UnitEvent::DialogueHeld { on },
                    1 => UnitEvent::AgreementSubmitted { on },
                    2 => UnitEvent::AgreementSigned { on },
                    3 => UnitEvent::GoalStatusGiven { on },
                    4 => UnitEvent::AgreementReviewed { on },
                    _ => UnitEvent::MidwayGiven { on },
                };
                if let Ok(f) = plan.apply(level, &ms, &facts, event, on) {
                    facts = f;
                }
            }
            let soon = def.reminders.soon_days();
            for day in days {
                let today = start + Days::new(day);
                if !crate::mail_plan::cycle_is_mailed(&plan.cycle(), today) {
                    continue;
                }
                let s = plan.standing(level, &ms, &facts, today);
                let overdue: Vec<(Deadline, u8, i64)> = s
                    .deadlines
                    .iter()
                    .filter(|d| matches!(d.state(today), DeadlineState::Overdue { .. }))
                    .map(|d| (d.deadline, d.occurrence, d.overdue_days(today)))
                    .collect();
                // The mail plan, by the end of the day: late mail (any item whose due
                // date has passed) about exactly these.
                let evening = crate::reminders::mail_instant(def.mail_time, today)
                    + chrono::Duration::hours(15);
                let mailed: Vec<(Deadline, u8)> = s
                    .deadlines
                    .iter()
                    .filter(|d| {
                        crate::mail_plan::due_items(&def, 2025, Some("u"), d, evening)
                            .iter()
                            .any(|i| i.due < today)
                    })
                    .map(|d| (d.deadline, d.occurrence))
                    .collect();
                let table: Vec<(Deadline, u8)> = overdue.iter().map(|o| (o.0, o.1)).collect();
                proptest::prop_assert_eq!(&mailed, &table, "on {}", today);
                let most = overdue.iter().map(|o| o.2).max().unwrap_or(0);
                proptest::prop_assert_eq!(s.overdue_days, most, "on {}", today);
                if let Some(n) = s.next_deadline {
                    proptest::prop_assert_eq!(n.overdue_days(today), s.overdue_days);
                    if s.overdue_days > 0 {
                        proptest::prop_assert!(
                            overdue.iter().any(|o| o.0 == n.deadline && o.2 == most),
                            "{:?} is not the most overdue of {:?}", n, overdue
                        );
                    }
                    proptest::prop_assert!(!(n.is_due_soon(today, soon) && s.overdue_days > 0));
                } else {
                    proptest::prop_assert!(overdue.is_empty(), "{:?} overdue, no next deadline", overdue);
                }
            }
        }
    }

    #[test]
    fn a_midway_status_without_an_agreement_in_force_waits_and_is_never_late() {
        let def = WheelDefinition::builtin();
        let plan = def.cycle(2025).unwrap();
        let l4 = Level::new(4).unwrap();
        let ms = Milestones {
            themes_published: Some(date(2026, 3, 20)),
            ..Milestones::default()
        };
        let f = UnitFacts::default()
            .with(UnitEvent::DialogueHeld {
                on: date(2026, 3, 14),
            })
            .with(UnitEvent::AgreementSubmitted {
                on: date(2026, 4, 1),
            });
        let end = plan.cycle().ends();
        let s = plan.standing(l4, &ms, &f, end);
        let midway = s
            .deadlines
            .iter()
            .find(|d| d.deadline == Deadline::MidwayStatus)
            .unwrap();
        assert_eq!(midway.state(end), DeadlineState::Waiting);
        assert_eq!(midway.waiting_for, vec![Deadline::AgreementSigned]);
        // The signature is what is late, and the signer is the one to act.
        assert_eq!(s.next_deadline.unwrap().deadline, Deadline::AgreementSigned);
        assert_eq!(s.responsible, Party::Superior);
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
