//! The plan of a cycle as the secretariat reads it: phase windows, the deadlines with a
//! date known in advance, and the rules of those that follow from events. This is what
//! `hjul plan` prints and the API serves.

use chrono::NaiveDate;
use serde::Serialize;

use crate::definition::{Due, Opens};
use crate::organisation::{Level, Party};
use crate::phase::{Deadline, Phase};
use crate::workflow::CyclePlan;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub cycle: i32,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    /// The wheel definition's version.
    pub definition: String,
    pub phases: Vec<PlannedPhase>,
    /// Deadlines whose dates follow from the calendar alone, by due date.
    pub deadlines: Vec<PlannedDeadline>,
    /// Deadlines whose dates follow from events ("right after").
    pub relative_deadlines: Vec<RelativeDeadline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPhase {
    pub phase: Phase,
    pub name_da: String,
    pub name_en: String,
    pub opens: NaiveDate,
    pub closes: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDeadline {
    pub deadline: Deadline,
    /// Which time of a follow-up (1, 2, …); 0 for a deadline met once a cycle.
    #[serde(skip_serializing_if = "crate::workflow::is_zero")]
    pub occurrence: u8,
    /// After moving off a closed day.
    pub due: NaiveDate,
    /// Set when the rule's date fell on a closed day and was moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<NaiveDate>,
    pub opens: NaiveDate,
    /// Empty for the department's milestones.
    pub levels: Vec<Level>,
    pub responsible: Party,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelativeDeadline {
    pub deadline: Deadline,
    pub levels: Vec<Level>,
    pub after: Vec<Deadline>,
    /// Due this many days after the last of `after` was met; `None` when it is due at
    /// the end of a quarter instead.
    pub days_after: Option<u32>,
    /// When it is due at the end of a quarter whatever the events.
    pub due: Option<NaiveDate>,
    pub responsible: Party,
}

impl CyclePlan<'_> {
    pub fn plan(&self) -> Plan {
        let def = self.definition();
        let cycle = self.cycle();
        let phases = self
            .phases()
            .into_iter()
            .zip(def.phases())
            .map(|(dates, window)| PlannedPhase {
                phase: dates.phase,
                name_da: window.name_da.clone(),
                name_en: window.name_en.clone(),
                opens: dates.opens,
                closes: dates.closes,
            })
            .collect();
        let end_of = |q: u8| cycle.quarter(q).last_day();
        let mut deadlines = Vec::new();
        let mut relative_deadlines = Vec::new();
        for rule in def.deadline_rules() {
            match (&rule.opens, rule.due) {
                (Opens::QuarterStart(o), Due::EndOfQuarter(q)) => {
                    let nominal = end_of(q);
                    let due = def.calendar.on_or_before(nominal);
                    deadlines.push(PlannedDeadline {
                        deadline: rule.deadline,
                        occurrence: 0,
                        due,
                        moved_from: (due != nominal).then_some(nominal),
                        opens: cycle.quarter(*o).first_day(),
                        levels: rule.levels.clone(),
                        responsible: rule.responsible,
                    });
                }
                // A follow-up, once for each of its quarters (for the units whose
                // agreement is signed by then).
                (Opens::EachQuarter(quarters), _) => {
                    for (i, q) in quarters.iter().enumerate() {
                        let nominal = end_of(*q);
                        let due = def.calendar.on_or_before(nominal);
                        deadlines.push(PlannedDeadline {
                            deadline: rule.deadline,
                            occurrence: crate::workflow::occurrence(quarters, i),
                            due,
                            moved_from: (due != nominal).then_some(nominal),
                            opens: cycle.quarter(*q).first_day(),
                            levels: rule.levels.clone(),
                            responsible: rule.responsible,
                        });
                    }
                }
                (opens, due) => relative_deadlines.push(RelativeDeadline {
                    deadline: rule.deadline,
                    levels: rule.levels.clone(),
                    after: match opens {
                        Opens::After(a) => a.clone(),
                        Opens::QuarterStart(_) | Opens::EachQuarter(_) => Vec::new(),
                    },
                    days_after: match due {
                        Due::DaysAfterOpening(d) => Some(d),
                        Due::EndOfQuarter(_) | Due::EndOfItsQuarter => None,
                    },
                    due: match due {
                        Due::EndOfQuarter(q) => Some(def.calendar.on_or_before(end_of(q))),
                        Due::DaysAfterOpening(_) | Due::EndOfItsQuarter => None,
                    },
                    responsible: rule.responsible,
                }),
            }
        }
        deadlines.sort_by_key(|d| (d.due, d.deadline, d.occurrence));
        Plan {
            cycle: cycle.year(),
            starts: cycle.starts(),
            ends: cycle.ends(),
            definition: def.version.clone(),
            phases,
            deadlines,
            relative_deadlines,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::WheelDefinition;
    use crate::phase::Deadline;

    #[test]
    fn the_plan_of_2025_lists_phases_and_dated_deadlines_in_order() {
        let def = WheelDefinition::builtin();
        let plan = def.cycle(2025).unwrap().plan();
        assert_eq!(plan.phases.len(), 6);
        let order: Vec<(Deadline, String)> = plan
            .deadlines
            .iter()
            .map(|d| (d.deadline, d.due.to_string()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Deadline::DataCollected, "2025-12-30".into()),
                (Deadline::ThemesPublished, "2026-03-31".into()),
                (Deadline::DialogueHeld, "2026-06-30".into()),
                (Deadline::ReportFinal, "2026-09-30".into()),
                (Deadline::GoalStatus, "2026-12-30".into()),
                (Deadline::AgreementReview, "2027-03-31".into()),
                (Deadline::GoalStatus, "2027-06-30".into()),
                (Deadline::MidwayStatus, "2027-09-30".into()),
            ]
        );
        assert_eq!(
            plan.deadlines[0].moved_from.map(|d| d.to_string()),
            Some("2025-12-31".into())
        );
        assert_eq!(plan.relative_deadlines.len(), 2);
        assert_eq!(
            plan.relative_deadlines[0].after,
            vec![Deadline::DialogueHeld, Deadline::ThemesPublished]
        );
        assert_eq!(
            plan.relative_deadlines[1].after,
            vec![Deadline::ReportFinal]
        );
        assert_eq!(plan.relative_deadlines[1].days_after, Some(30));
    }
}
