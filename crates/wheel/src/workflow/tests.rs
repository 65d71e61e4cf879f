use super::*;
use crate::organisation::Level;
use proptest::prelude::*;

fn date(y: i32, m: u32, d: u32) -> Date {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn level(n: u8) -> Level {
    Level::new(n).unwrap()
}

fn def() -> WheelDefinition {
    WheelDefinition::builtin()
}

fn due_of(list: &[DeadlineStatus], d: Deadline) -> Option<Date> {
    list.iter().find(|s| s.deadline == d).and_then(|s| s.due)
}

/// Dates worked out by hand from DOMAIN.md and a calendar.
#[test]
fn cycle_2025_by_hand() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    assert_eq!(plan.cycle().starts(), date(2025, 10, 1));
    assert_eq!(plan.cycle().ends(), date(2027, 9, 30));
    let phases: Vec<(Phase, Date, Date)> = plan
        .phases()
        .iter()
        .map(|p| (p.phase, p.opens, p.closes))
        .collect();
    assert_eq!(
        phases,
        vec![
            (Phase::DataCollection, date(2025, 10, 1), date(2025, 12, 31)),
            (Phase::Feedback, date(2026, 1, 1), date(2026, 3, 31)),
            (Phase::QualityDialogue, date(2026, 1, 1), date(2026, 6, 30)),
            (Phase::QualityReport, date(2026, 7, 1), date(2026, 9, 30)),
            (
                Phase::CoherenceAgreement,
                date(2026, 1, 1),
                date(2027, 6, 30)
            ),
            (Phase::MidwayStatus, date(2027, 7, 1), date(2027, 9, 30)),
        ]
    );
    let ms = plan.milestone_deadlines(&Milestones::default());
    // 31 December is a closing day: the Tuesday before.
    assert_eq!(
        due_of(&ms, Deadline::DataCollected),
        Some(date(2025, 12, 30))
    );
    assert_eq!(
        due_of(&ms, Deadline::ThemesPublished),
        Some(date(2026, 3, 31))
    );
    assert_eq!(due_of(&ms, Deadline::ReportFinal), Some(date(2026, 9, 30)));
    let unit = plan.unit_deadlines(level(4), &Milestones::default(), &UnitFacts::default());
    assert_eq!(
        due_of(&unit, Deadline::DialogueHeld),
        Some(date(2026, 6, 30))
    );
    assert_eq!(due_of(&unit, Deadline::AgreementSigned), None);
    assert_eq!(
        due_of(&unit, Deadline::MidwayStatus),
        Some(date(2027, 9, 30))
    );
    assert_eq!(
        plan.open_phases(date(2026, 2, 1)),
        vec![
            Phase::Feedback,
            Phase::QualityDialogue,
            Phase::CoherenceAgreement
        ]
    );
    assert_eq!(
        plan.open_phases(date(2026, 11, 1)),
        vec![Phase::CoherenceAgreement]
    );
}

#[test]
fn cycle_2027_by_hand() {
    let def = def();
    let plan = def.cycle(2027).unwrap();
    assert_eq!(plan.cycle().starts(), date(2027, 10, 1));
    assert_eq!(plan.cycle().ends(), date(2029, 9, 30));
    let ms = plan.milestone_deadlines(&Milestones::default());
    // Friday 31 December 2027 is a closing day.
    assert_eq!(
        due_of(&ms, Deadline::DataCollected),
        Some(date(2027, 12, 30))
    );
    assert_eq!(
        due_of(&ms, Deadline::ThemesPublished),
        Some(date(2028, 3, 31))
    );
    // Saturday 30 September 2028: the Friday before.
    assert_eq!(due_of(&ms, Deadline::ReportFinal), Some(date(2028, 9, 29)));
    let unit = plan.unit_deadlines(level(3), &Milestones::default(), &UnitFacts::default());
    assert_eq!(
        due_of(&unit, Deadline::DialogueHeld),
        Some(date(2028, 6, 30))
    );
    // Sunday 30 September 2029: the Friday before.
    assert_eq!(
        due_of(&unit, Deadline::MidwayStatus),
        Some(date(2029, 9, 28))
    );
    let midway = unit
        .iter()
        .find(|s| s.deadline == Deadline::MidwayStatus)
        .unwrap();
    assert_eq!(midway.nominal_due, Some(date(2029, 9, 30)));
}

#[test]
fn the_agreement_is_due_30_days_after_the_later_of_dialogue_and_themes() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let themes_early = Milestones {
        themes_published: Some(date(2026, 3, 2)),
        ..Milestones::default()
    };
    let held = |on| UnitFacts {
        dialogue_held: Some(on),
        ..UnitFacts::default()
    };
    // Dialogue 14 March (after the themes): due 13 April, as DOMAIN.md's example says.
    let unit = plan.unit_deadlines(level(4), &themes_early, &held(date(2026, 3, 14)));
    assert_eq!(
        due_of(&unit, Deadline::AgreementSigned),
        Some(date(2026, 4, 13))
    );
    let sign = unit
        .iter()
        .find(|s| s.deadline == Deadline::AgreementSigned)
        .unwrap();
    assert_eq!(sign.opens, Some(date(2026, 3, 14)));
    assert_eq!(sign.responsible, Party::Leader);
    assert_eq!(sign.escalate_to, Party::Superior);
    // Themes published 20 March, after a dialogue on 10 February: 19 April is a Sunday.
    let themes_late = Milestones {
        themes_published: Some(date(2026, 3, 20)),
        ..Milestones::default()
    };
    let unit = plan.unit_deadlines(level(3), &themes_late, &held(date(2026, 2, 10)));
    assert_eq!(
        due_of(&unit, Deadline::AgreementSigned),
        Some(date(2026, 4, 17))
    );
    // Without the themes it waits.
    let unit = plan.unit_deadlines(level(3), &Milestones::default(), &held(date(2026, 2, 10)));
    let sign = unit
        .iter()
        .find(|s| s.deadline == Deadline::AgreementSigned)
        .unwrap();
    assert_eq!(sign.opens, None);
    assert_eq!(sign.waiting_for, vec![Deadline::ThemesPublished]);
    assert_eq!(sign.state(date(2026, 3, 1)), DeadlineState::Waiting);
}

#[test]
fn a_chiefs_agreement_is_due_30_days_after_the_final_report() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let report = |on| Milestones {
        report_final: Some(on),
        ..Milestones::default()
    };
    let unit = plan.unit_deadlines(level(2), &report(date(2026, 9, 15)), &UnitFacts::default());
    assert_eq!(
        due_of(&unit, Deadline::AgreementSigned),
        Some(date(2026, 10, 15))
    );
    assert!(unit.iter().all(|s| s.deadline != Deadline::DialogueHeld));
    // 25 November + 30 = Christmas Day; 24 December is closed too: the 23rd.
    let unit = plan.unit_deadlines(level(2), &report(date(2026, 11, 25)), &UnitFacts::default());
    assert_eq!(
        due_of(&unit, Deadline::AgreementSigned),
        Some(date(2026, 12, 23))
    );
}

#[test]
fn the_director_has_no_steps() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    assert_eq!(
        plan.step(level(1), &Milestones::default(), &UnitFacts::default()),
        None
    );
    assert!(
        plan.unit_deadlines(level(1), &Milestones::default(), &UnitFacts::default())
            .is_empty()
    );
    let err = plan
        .apply(
            level(1),
            &Milestones::default(),
            &UnitFacts::default(),
            UnitEvent::DialogueHeld {
                on: date(2026, 2, 1),
            },
            date(2026, 3, 1),
        )
        .unwrap_err();
    assert_eq!(err, Refusal::NoWorkflow { level: level(1) });
}

/// The yearly review is met by confirming the agreement, or by a new revision signed
/// in its quarter; a follow-up is nobody's before the agreement is signed, and a time
/// whose quarter began before the signature is not the unit's.
#[test]
fn a_revision_signed_in_the_reviews_quarter_is_the_review() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2027, 9, 1);
    let l2 = level(2);
    let ms = Milestones {
        report_final: Some(date(2026, 9, 24)),
        ..Milestones::default()
    };
    let mut f = UnitFacts::default();
    // Before the signature: every time waits for it, with no date.
    let waiting: Vec<_> = plan
        .unit_deadlines(l2, &ms, &f)
        .into_iter()
        .filter(|s| s.deadline.is_follow_up())
        .collect();
    assert_eq!(waiting.len(), 3);
    assert!(waiting.iter().all(|s| s.opens.is_none()
        && s.due.is_none()
        && s.waiting_for == vec![Deadline::AgreementSigned]));
    for e in [
        EventKind::AgreementSubmitted.on(date(2026, 10, 5)),
        EventKind::AgreementSigned.on(date(2026, 10, 12)),
    ] {
        f = plan.apply(l2, &ms, &f, e, today).unwrap();
    }
    // Signed in Q4 2026: that quarter's status is not the chief's.
    let times: Vec<(Deadline, u8)> = plan
        .unit_deadlines(l2, &ms, &f)
        .into_iter()
        .filter(|s| s.deadline.is_follow_up())
        .map(|s| (s.deadline, s.occurrence))
        .collect();
    assert_eq!(
        times,
        vec![(Deadline::GoalStatus, 2), (Deadline::AgreementReview, 0)]
    );
    assert_eq!(
        plan.apply(
            l2,
            &ms,
            &f,
            EventKind::GoalStatusGiven.on(date(2026, 11, 2)),
            today
        ),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::GoalStatus,
            opens: date(2027, 4, 1),
            on: date(2026, 11, 2)
        })
    );
    for e in [
        EventKind::AgreementSubmitted.on(date(2027, 1, 20)),
        EventKind::AgreementSigned.on(date(2027, 1, 25)),
    ] {
        f = plan.apply(l2, &ms, &f, e, today).unwrap();
    }
    let review = plan
        .unit_deadlines(l2, &ms, &f)
        .into_iter()
        .find(|s| s.deadline == Deadline::AgreementReview)
        .unwrap();
    assert_eq!(review.met_on, Some(date(2027, 1, 25)));
    assert_eq!(
        plan.apply(
            l2,
            &ms,
            &f,
            EventKind::AgreementReviewed.on(date(2027, 2, 1)),
            today
        ),
        Err(Refusal::AlreadyMet {
            deadline: Deadline::AgreementReview,
            on: date(2027, 1, 25)
        })
    );
}

/// Records a whole cycle for a daycare house (level 4) and checks the step after each event.
#[test]
fn a_level_4_unit_through_the_whole_cycle() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2027, 9, 1);
    let mut ms = Milestones::default();
    let mut f = UnitFacts::default();
    let l4 = level(4);
    assert_eq!(plan.step(l4, &ms, &f), Some(Step::AwaitingDialogue));
    ms = plan
        .record_milestone(&ms, Deadline::DataCollected, date(2025, 12, 15), today)
        .unwrap();
    ms = plan
        .record_milestone(&ms, Deadline::ThemesPublished, date(2026, 3, 2), today)
        .unwrap();
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            UnitEvent::DialogueHeld {
                on: date(2026, 3, 14),
            },
            today,
        )
        .unwrap();
    assert_eq!(plan.step(l4, &ms, &f), Some(Step::AwaitingAgreement));
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 4, 1),
            },
            today,
        )
        .unwrap();
    assert_eq!(plan.step(l4, &ms, &f), Some(Step::AwaitingSignature));
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 4, 20),
            },
            today,
        )
        .unwrap();
    assert_eq!(plan.step(l4, &ms, &f), Some(Step::InForce));
    // Signed a week after it was due (13 April).
    let sign = plan
        .unit_deadlines(l4, &ms, &f)
        .into_iter()
        .find(|s| s.deadline == Deadline::AgreementSigned)
        .unwrap();
    assert_eq!(
        sign.state(today),
        DeadlineState::Met {
            on: date(2026, 4, 20),
            late_days: 7
        }
    );
    // The follow-ups: a status on the goals in Q4 2026 and Q2 2027, the review in
    // Q1 2027. Each time is met once, and none opens before its quarter.
    let event = |kind: EventKind, y, m, d| kind.on(date(y, m, d));
    let status_q4 = event(EventKind::GoalStatusGiven, 2026, 11, 10);
    f = plan.apply(l4, &ms, &f, status_q4, today).unwrap();
    assert_eq!(
        plan.apply(
            l4,
            &ms,
            &f,
            event(EventKind::GoalStatusGiven, 2026, 12, 1),
            today
        ),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::GoalStatus,
            opens: date(2027, 4, 1),
            on: date(2026, 12, 1)
        })
    );
    assert_eq!(
        plan.apply(
            l4,
            &ms,
            &f,
            event(EventKind::GoalStatusGiven, 2027, 2, 10),
            today
        ),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::GoalStatus,
            opens: date(2027, 4, 1),
            on: date(2027, 2, 10)
        })
    );
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            event(EventKind::AgreementReviewed, 2027, 2, 3),
            today,
        )
        .unwrap();
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            event(EventKind::GoalStatusGiven, 2027, 5, 12),
            today,
        )
        .unwrap();
    assert_eq!(
        plan.apply(
            l4,
            &ms,
            &f,
            event(EventKind::GoalStatusGiven, 2027, 6, 1),
            today
        ),
        Err(Refusal::AlreadyMet {
            deadline: Deadline::GoalStatus,
            on: date(2027, 5, 12)
        })
    );
    let times: Vec<(Deadline, u8, Option<Date>, Option<Date>)> = plan
        .unit_deadlines(l4, &ms, &f)
        .into_iter()
        .filter(|s| s.deadline.is_follow_up())
        .map(|s| (s.deadline, s.occurrence, s.due, s.met_on))
        .collect();
    assert_eq!(
        times,
        vec![
            (
                Deadline::GoalStatus,
                1,
                Some(date(2026, 12, 30)),
                Some(date(2026, 11, 10))
            ),
            (
                Deadline::GoalStatus,
                2,
                Some(date(2027, 6, 30)),
                Some(date(2027, 5, 12))
            ),
            (
                Deadline::AgreementReview,
                0,
                Some(date(2027, 3, 31)),
                Some(date(2027, 2, 3))
            ),
        ]
    );
    f = plan
        .apply(
            l4,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 8, 20),
            },
            today,
        )
        .unwrap();
    assert_eq!(plan.step(l4, &ms, &f), Some(Step::MidwayGiven));
    assert!(
        plan.unit_deadlines(l4, &ms, &f)
            .iter()
            .all(|s| s.met_on.is_some())
    );
}

#[test]
fn a_level_2_unit_waits_for_the_report() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2026, 12, 1);
    let l2 = level(2);
    let mut ms = Milestones::default();
    let f = UnitFacts::default();
    assert_eq!(plan.step(l2, &ms, &f), Some(Step::AwaitingReport));
    let err = plan
        .apply(
            l2,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 8, 1),
            },
            today,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::NeedsFirst {
            step: Step::AwaitingReport,
            needs: Deadline::ReportFinal
        }
    );
    assert_eq!(
        err.to_string(),
        "the unit is at the step “Awaiting the report”: the agreement is drawn up after Quality report final is met"
    );
    let err = plan
        .apply(
            l2,
            &ms,
            &f,
            UnitEvent::DialogueHeld {
                on: date(2026, 2, 1),
            },
            today,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::NotApplicable {
            deadline: Deadline::DialogueHeld,
            level: l2
        }
    );
    ms = plan
        .record_milestone(&ms, Deadline::ReportFinal, date(2026, 9, 15), today)
        .unwrap();
    assert_eq!(plan.step(l2, &ms, &f), Some(Step::AwaitingAgreement));
    let err = plan
        .apply(
            l2,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 9, 14),
            },
            today,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Refusal::BeforeEarlier {
                earlier_event: "report",
                ..
            }
        ),
        "{err}"
    );
    let f = plan
        .apply(
            l2,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 9, 20),
            },
            today,
        )
        .unwrap();
    let f = plan
        .apply(
            l2,
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 10, 1),
            },
            today,
        )
        .unwrap();
    assert_eq!(plan.step(l2, &ms, &f), Some(Step::InForce));
}

#[test]
fn signing_before_the_dialogue_was_held_is_refused_with_the_reason() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let ms = Milestones {
        themes_published: Some(date(2026, 3, 2)),
        ..Milestones::default()
    };
    let err = plan
        .apply(
            level(3),
            &ms,
            &UnitFacts::default(),
            UnitEvent::AgreementSigned {
                on: date(2026, 4, 1),
            },
            date(2026, 4, 2),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::Waiting {
            deadline: Deadline::AgreementSigned,
            waiting_for: vec![Deadline::DialogueHeld]
        }
    );
    assert_eq!(
        err.to_string(),
        "Coherence agreement signed waits for Quality dialogue: record that first"
    );
    let err = plan
        .apply(
            level(3),
            &ms,
            &UnitFacts::default(),
            UnitEvent::AgreementSubmitted {
                on: date(2026, 4, 1),
            },
            date(2026, 4, 2),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::NeedsFirst {
            step: Step::AwaitingDialogue,
            needs: Deadline::DialogueHeld
        }
    );
}

#[test]
fn signing_before_the_themes_are_published_is_refused() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2026, 5, 1);
    let f = plan
        .apply(
            level(4),
            &Milestones::default(),
            &UnitFacts::default(),
            UnitEvent::DialogueHeld {
                on: date(2026, 2, 3),
            },
            today,
        )
        .unwrap();
    // Drafting may start before the themes are out...
    let f = plan
        .apply(
            level(4),
            &Milestones::default(),
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 2, 20),
            },
            today,
        )
        .unwrap();
    // ...signing may not.
    let err = plan
        .apply(
            level(4),
            &Milestones::default(),
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 3, 1),
            },
            today,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::Waiting {
            deadline: Deadline::AgreementSigned,
            waiting_for: vec![Deadline::ThemesPublished]
        }
    );
    // Published 10 March: a signature dated 1 March is before the deadline opened.
    let ms = Milestones {
        themes_published: Some(date(2026, 3, 10)),
        ..Milestones::default()
    };
    let err = plan
        .apply(
            level(4),
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 3, 1),
            },
            today,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::NotOpenYet {
            deadline: Deadline::AgreementSigned,
            opens: date(2026, 3, 10),
            on: date(2026, 3, 1)
        }
    );
    assert!(
        plan.apply(
            level(4),
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 3, 10)
            },
            today
        )
        .is_ok()
    );
}

#[test]
fn dates_outside_the_cycle_or_in_the_future_or_before_the_window_are_refused() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let ms = Milestones::default();
    let f = UnitFacts::default();
    let held = |on, today| plan.apply(level(3), &ms, &f, UnitEvent::DialogueHeld { on }, today);
    let err = held(date(2025, 9, 30), date(2026, 1, 5)).unwrap_err();
    assert!(matches!(err, Refusal::OutsideCycle { cycle: 2025, .. }));
    assert_eq!(
        err.to_string(),
        "2025-09-30 is outside cycle 2025 (2025-10-01 – 2027-09-30); check the date, or record it in the cycle it belongs to"
    );
    assert!(matches!(
        held(date(2027, 10, 1), date(2027, 10, 2)),
        Err(Refusal::OutsideCycle { .. })
    ));
    assert_eq!(
        held(date(2026, 2, 10), date(2026, 2, 9)),
        Err(Refusal::InFuture {
            on: date(2026, 2, 10),
            today: date(2026, 2, 9)
        })
    );
    // The dialogue window opens 1 January 2026.
    assert_eq!(
        held(date(2025, 12, 15), date(2026, 1, 5)),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::DialogueHeld,
            opens: date(2026, 1, 1),
            on: date(2025, 12, 15)
        })
    );
    let f = held(date(2026, 2, 10), date(2026, 2, 10)).unwrap();
    assert_eq!(
        plan.apply(
            level(3),
            &ms,
            &f,
            UnitEvent::DialogueHeld {
                on: date(2026, 2, 11)
            },
            date(2026, 3, 1)
        ),
        Err(Refusal::AlreadyMet {
            deadline: Deadline::DialogueHeld,
            on: date(2026, 2, 10)
        })
    );
}

#[test]
fn milestones_are_recorded_once_and_not_before_they_open() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2026, 10, 1);
    let ms = Milestones::default();
    assert_eq!(
        plan.record_milestone(&ms, Deadline::ThemesPublished, date(2025, 12, 20), today),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::ThemesPublished,
            opens: date(2026, 1, 1),
            on: date(2025, 12, 20)
        })
    );
    assert_eq!(
        plan.record_milestone(&ms, Deadline::DialogueHeld, date(2026, 2, 1), today),
        Err(Refusal::NotAMilestone {
            deadline: Deadline::DialogueHeld
        })
    );
    let ms = plan
        .record_milestone(&ms, Deadline::ReportFinal, date(2026, 9, 1), today)
        .unwrap();
    assert_eq!(ms.report_final, Some(date(2026, 9, 1)));
    assert_eq!(
        plan.record_milestone(&ms, Deadline::ReportFinal, date(2026, 9, 2), today),
        Err(Refusal::AlreadyMet {
            deadline: Deadline::ReportFinal,
            on: date(2026, 9, 1)
        })
    );
}

#[test]
fn a_signed_agreement_changes_only_by_a_new_revision() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2027, 9, 1);
    let l3 = level(3);
    let ms = Milestones {
        themes_published: Some(date(2026, 2, 1)),
        ..Milestones::default()
    };
    let mut f = UnitFacts::default();
    for e in [
        UnitEvent::DialogueHeld {
            on: date(2026, 2, 10),
        },
        UnitEvent::AgreementSubmitted {
            on: date(2026, 2, 20),
        },
        UnitEvent::AgreementSigned {
            on: date(2026, 3, 1),
        },
    ] {
        f = plan.apply(l3, &ms, &f, e, today).unwrap();
    }
    assert_eq!(
        plan.apply(
            l3,
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 3, 2)
            },
            today
        ),
        Err(Refusal::AlreadySigned {
            revision: 1,
            on: date(2026, 3, 1)
        })
    );
    // The yearly revision.
    f = plan
        .apply(
            l3,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2027, 2, 1),
            },
            today,
        )
        .unwrap();
    let a = f.agreement.clone().unwrap();
    assert_eq!(a.revision, 2);
    assert_eq!(
        a.in_force,
        Some(SignedRevision {
            revision: 1,
            signed_on: date(2026, 3, 1)
        })
    );
    assert_eq!(plan.step(l3, &ms, &f), Some(Step::AwaitingSignature));
    // The deadline stays met by the first signature.
    assert_eq!(f.met_on(Deadline::AgreementSigned), Some(date(2026, 3, 1)));
    f = plan
        .apply(
            l3,
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2027, 2, 15),
            },
            today,
        )
        .unwrap();
    assert_eq!(
        f.agreement.as_ref().unwrap().in_force,
        Some(SignedRevision {
            revision: 2,
            signed_on: date(2027, 2, 15)
        })
    );
    assert_eq!(f.met_on(Deadline::AgreementSigned), Some(date(2026, 3, 1)));
    assert_eq!(plan.step(l3, &ms, &f), Some(Step::InForce));
}

#[test]
fn the_midway_status_needs_a_signed_agreement_and_its_window() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2027, 9, 1);
    let l3 = level(3);
    let ms = Milestones {
        themes_published: Some(date(2026, 2, 1)),
        ..Milestones::default()
    };
    let f = plan
        .apply(
            l3,
            &ms,
            &UnitFacts::default(),
            UnitEvent::DialogueHeld {
                on: date(2026, 2, 10),
            },
            today,
        )
        .unwrap();
    assert_eq!(
        plan.apply(
            l3,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 8, 1)
            },
            today
        ),
        Err(Refusal::NotInForce)
    );
    let f = plan
        .apply(
            l3,
            &ms,
            &f,
            UnitEvent::AgreementSubmitted {
                on: date(2026, 2, 20),
            },
            today,
        )
        .unwrap();
    assert_eq!(
        plan.apply(
            l3,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 8, 1)
            },
            today
        ),
        Err(Refusal::NotInForce)
    );
    let f = plan
        .apply(
            l3,
            &ms,
            &f,
            UnitEvent::AgreementSigned {
                on: date(2026, 3, 1),
            },
            today,
        )
        .unwrap();
    assert_eq!(
        plan.apply(
            l3,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 3, 1)
            },
            today
        ),
        Err(Refusal::NotOpenYet {
            deadline: Deadline::MidwayStatus,
            opens: date(2027, 7, 1),
            on: date(2027, 3, 1)
        })
    );
    let f = plan
        .apply(
            l3,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 8, 1),
            },
            today,
        )
        .unwrap();
    assert!(matches!(
        plan.apply(
            l3,
            &ms,
            &f,
            UnitEvent::MidwayGiven {
                on: date(2027, 8, 2)
            },
            today
        ),
        Err(Refusal::AlreadyMet {
            deadline: Deadline::MidwayStatus,
            ..
        })
    ));
}

#[test]
fn deadline_states_count_calendar_days() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let unit = plan.unit_deadlines(level(4), &Milestones::default(), &UnitFacts::default());
    let dialogue = unit
        .iter()
        .find(|s| s.deadline == Deadline::DialogueHeld)
        .unwrap();
    assert_eq!(dialogue.responsible, Party::Superior);
    assert_eq!(dialogue.escalate_to, Party::SuperiorOfSuperior);
    assert_eq!(dialogue.notify_on_open, vec![Party::Leader]);
    assert_eq!(
        dialogue.state(date(2025, 12, 1)),
        DeadlineState::NotOpen {
            opens: date(2026, 1, 1)
        }
    );
    assert_eq!(
        dialogue.state(date(2026, 6, 30)),
        DeadlineState::Open {
            due: Some(date(2026, 6, 30))
        }
    );
    assert_eq!(
        dialogue.state(date(2026, 7, 5)),
        DeadlineState::Overdue { days: 5 }
    );
    assert_eq!(dialogue.overdue_days(date(2026, 7, 5)), 5);
    assert_eq!(dialogue.overdue_days(date(2026, 6, 5)), 0);
}

// ---- random event sequences -------------------------------------------------------------

#[derive(Debug, Clone)]
enum Act {
    Milestone(Deadline),
    Unit(u8),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        prop::sample::select(Deadline::MILESTONES.to_vec()).prop_map(Act::Milestone),
        (0u8..6).prop_map(Act::Unit),
        (0u8..6).prop_map(Act::Unit),
    ]
}

/// (what, days the clock moves on, how many days before "today" the event is dated; a
/// negative lag dates it in the future)
fn story() -> impl Strategy<Value = (u8, Vec<(Act, i64, i64)>)> {
    (
        2u8..=4,
        proptest::collection::vec((act(), 0i64..45, -3i64..60), 1..60),
    )
}

fn unit_event(kind: u8, on: Date) -> UnitEvent {
    match kind {
        0 => UnitEvent::DialogueHeld { on },
        1 => UnitEvent::AgreementSubmitted { on },
        2 => UnitEvent::AgreementSigned { on },
        3 => UnitEvent::MidwayGiven { on },
        4 => UnitEvent::GoalStatusGiven { on },
        _ => UnitEvent::AgreementReviewed { on },
    }
}

/// The rules, written independently of the state machine: what must hold of any state the
/// machine accepts.
fn check_invariants(
    plan: &CyclePlan<'_>,
    l: Level,
    ms: &Milestones,
    f: &UnitFacts,
) -> Result<(), TestCaseError> {
    let c = plan.cycle();
    let q = |n: u8| c.quarter(n).first_day();
    for d in [
        ms.data_collected,
        ms.themes_published,
        ms.report_final,
        f.dialogue_held,
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(c.contains(d));
    }
    if let Some(d) = ms.themes_published {
        prop_assert!(d >= q(1));
    }
    if let Some(d) = ms.report_final {
        prop_assert!(d >= q(3));
    }
    if let Some(d) = f.dialogue_held {
        prop_assert!(l.number() >= 3, "a dialogue for level {l}");
        prop_assert!(d >= q(1));
    }
    if let Some(a) = &f.agreement {
        prop_assert!(a.revision >= 1);
        if l.number() >= 3 {
            prop_assert!(a.submitted_on >= f.dialogue_held.unwrap());
        } else {
            prop_assert!(a.submitted_on >= ms.report_final.unwrap());
        }
        if let Some(first) = a.first_signed_on {
            if l.number() >= 3 {
                prop_assert!(
                    first >= f.dialogue_held.unwrap() && first >= ms.themes_published.unwrap()
                );
            } else {
                prop_assert!(first >= ms.report_final.unwrap());
            }
            let s = a.in_force.unwrap();
            prop_assert!(s.revision <= a.revision && s.signed_on >= first);
        } else {
            prop_assert!(a.in_force.is_none());
        }
        if let Some(m) = a.midway_given_on {
            prop_assert!(m >= q(7) && m >= a.first_signed_on.unwrap());
        }
    }
    // A goal status follows a signed agreement up, in a quarter of the definition's
    // (4 and 6) that began after the signature; each time is met once.
    for d in &f.goal_status_given {
        let first = f.agreement.as_ref().and_then(|a| a.first_signed_on);
        prop_assert!(
            first.is_some_and(|s| s <= *d),
            "a status before the signature"
        );
        prop_assert!(
            [4u8, 6]
                .iter()
                .any(|x| q(*x) > first.unwrap() && q(*x) <= *d),
            "a status on {d} with no time of it open"
        );
    }
    prop_assert!(f.goal_status_given.len() <= 2);
    Ok(())
}

/// A refusal must be true of the state it refused in.
fn check_refusal(
    plan: &CyclePlan<'_>,
    l: Level,
    ms: &Milestones,
    f: &UnitFacts,
    on: Date,
    today: Date,
    r: &Refusal,
) -> Result<(), TestCaseError> {
    prop_assert!(!r.to_string().is_empty());
    match r {
        Refusal::OutsideCycle { .. } => prop_assert!(!plan.cycle().contains(on)),
        Refusal::InFuture { .. } => prop_assert!(on > today),
        Refusal::AlreadyMet { deadline, on: met } => {
            prop_assert_eq!(
                ms.met_on(*deadline).or_else(|| f.met_on(*deadline)),
                Some(*met)
            );
        }
        Refusal::NotOpenYet { opens, .. } => prop_assert!(on < *opens),
        Refusal::Waiting { waiting_for, .. } => {
            prop_assert!(!waiting_for.is_empty());
            for d in waiting_for {
                prop_assert!(ms.met_on(*d).or_else(|| f.met_on(*d)).is_none());
            }
        }
        Refusal::NeedsFirst { step, .. } => prop_assert_eq!(plan.step(l, ms, f), Some(*step)),
        Refusal::BeforeEarlier { earlier, .. } => prop_assert!(on < *earlier),
        Refusal::NothingToSign => prop_assert!(f.agreement.is_none()),
        Refusal::AlreadySigned { .. } => {
            prop_assert!(!f.agreement.as_ref().unwrap().awaits_signature());
        }
        Refusal::NotInForce => {
            prop_assert!(f.agreement.as_ref().is_none_or(|a| a.in_force.is_none()));
        }
        Refusal::NotApplicable { deadline, level } => {
            prop_assert_eq!(*level, l);
            prop_assert!(plan.definition().unit_rule(*deadline, l).is_none());
        }
        Refusal::NoFollowUp { deadline } => {
            prop_assert!(
                plan.unit_deadlines(l, ms, f)
                    .iter()
                    .all(|d| d.deadline != *deadline)
            );
        }
        Refusal::NoWorkflow { .. }
        | Refusal::NotAMilestone { .. }
        | Refusal::CycleNotOnRecord { .. }
        | Refusal::FarOutside { .. }
        | Refusal::OtherCycle { .. }
        | Refusal::NotAJoiner { .. } => {
            prop_assert!(false, "unexpected {r:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_event_sequences_never_break_the_rules((lvl, acts) in story()) {
        let def = def();
        let plan = def.cycle(2025).unwrap();
        let l = level(lvl);
        let mut today = date(2025, 9, 20);
        let mut ms = Milestones::default();
        let mut f = UnitFacts::default();
        let mut last_step = plan.step(l, &ms, &f);
        for (act, advance, lag) in acts {
            today += chrono::Duration::days(advance);
            let on = today - chrono::Duration::days(lag);
            match act {
                Act::Milestone(m) => match plan.record_milestone(&ms, m, on, today) {
                    Ok(next) => {
                        prop_assert_eq!(next.met_on(m), Some(on));
                        ms = next;
                    }
                    Err(r) => check_refusal(&plan, l, &ms, &f, on, today, &r)?,
                },
                Act::Unit(k) => match plan.apply(l, &ms, &f, unit_event(k, on), today) {
                    Ok(next) => f = next,
                    Err(r) => check_refusal(&plan, l, &ms, &f, on, today, &r)?,
                },
            }
            check_invariants(&plan, l, &ms, &f)?;
            let step = plan.step(l, &ms, &f);
            // Steps only move forward, except that a new revision awaits a signature again.
            if step < last_step {
                prop_assert_eq!(step, Some(Step::AwaitingSignature), "{:?} after {:?}", step, last_step);
                prop_assert!(f.agreement.as_ref().unwrap().in_force.is_some());
            }
            last_step = step;
        }
    }
}

#[test]
fn every_cycle_from_2000_to_2100_is_covered_by_its_phases_without_a_gap() {
    let def = def();
    for year in (1999..=2101).filter(|y| def.cycles.starts_in(*y)) {
        let plan = def.cycle(year).unwrap();
        let c = plan.cycle();
        let phases = plan.phases();
        let mut day = c.starts();
        while day <= c.ends() {
            assert!(
                phases.iter().any(|p| p.opens <= day && day <= p.closes),
                "{day} in cycle {year} is in no phase"
            );
            day = day.succ_opt().unwrap();
        }
        assert!(
            phases
                .iter()
                .all(|p| c.contains(p.opens) && c.contains(p.closes))
        );
        assert_eq!(phases.iter().map(|p| p.opens).min(), Some(c.starts()));
        assert_eq!(phases.iter().map(|p| p.closes).max(), Some(c.ends()));
    }
}

proptest! {
    #[test]
    fn no_deadline_is_ever_due_on_a_closed_day(
        k in 0i32..50,
        dialogue in 0i64..182,
        themes in 0i64..91,
        report in 0i64..92,
    ) {
        let def = def();
        let plan = def.cycle(2001 + 2 * k).unwrap();
        let q = |n: u8| plan.cycle().quarter(n).first_day();
        let ms = Milestones {
            data_collected: None,
            themes_published: Some(q(1) + chrono::Duration::days(themes)),
            report_final: Some(q(3) + chrono::Duration::days(report)),
        };
        let held = q(1) + chrono::Duration::days(dialogue);
        // Signed soon after, so the follow-ups have their dates too.
        let signed = held + chrono::Duration::days(10);
        let facts = UnitFacts {
            dialogue_held: Some(held),
            agreement: Some(AgreementFacts {
                revision: 1,
                submitted_on: signed,
                in_force: Some(SignedRevision { revision: 1, signed_on: signed }),
                first_signed_on: Some(signed),
                midway_given_on: None,
            }),
            ..UnitFacts::default()
        };
        let mut all = plan.milestone_deadlines(&ms);
        for l in 2..=4 {
            all.extend(plan.unit_deadlines(level(l), &ms, &facts));
        }
        // Each level's own, and the follow-ups (two goal statuses, one review).
        prop_assert_eq!(all.len(), 3 + (2 + 3) + (3 + 3) + (3 + 3));
        for s in &all {
            let due = s.due.unwrap();
            prop_assert!(def.calendar.is_business_day(due), "{} due on closed {due}", s.deadline);
            prop_assert!(due <= s.nominal_due.unwrap());
            prop_assert!((s.nominal_due.unwrap() - due).num_days() < 7);
            for m in crate::reminders::moments(&def, s) {
                prop_assert!(def.calendar.is_business_day(m.date), "{:?} of {} on closed {}", m.kind, s.deadline, m.date);
            }
        }
    }
}

#[test]
fn an_event_never_starts_a_cycle_by_accident() {
    let def = def();
    let today = date(2026, 5, 15);
    // The running cycle starts on its own (as the scheduler would start it).
    assert_eq!(def.cycle_of_event(date(2026, 3, 1), today, &[]), Ok(2025));
    assert_eq!(
        def.cycle_of_event(date(2026, 3, 1), today, &[2025]),
        Ok(2025)
    );
    // A date in a cycle never started: refused, with the day most likely meant.
    assert_eq!(
        def.cycle_of_event(date(2025, 9, 1), today, &[2025]),
        Err(Refusal::CycleNotOnRecord {
            on: date(2025, 9, 1),
            cycle: 2023,
            hint: None
        })
    );
    let err = def
        .cycle_of_event(date(2024, 3, 1), today, &[2025])
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::CycleNotOnRecord {
            on: date(2024, 3, 1),
            cycle: 2023,
            hint: Some(date(2026, 3, 1))
        }
    );
    assert_eq!(
        err.to_string(),
        "2024-03-01 falls in cycle 2023, which was never started; did you mean 2026-03-01?"
    );
    assert_eq!(
        err.text().render(crate::Language::Da),
        "01.03.2024 ligger i cyklus 2023, som aldrig er startet; mente du 01.03.2026?"
    );
    // Far from every cycle on record: a mistyped year, said as such.
    assert_eq!(
        def.cycle_of_event(date(1650, 1, 1), today, &[2025]),
        Err(Refusal::FarOutside {
            on: date(1650, 1, 1),
            first: date(2025, 10, 1),
            last: date(2027, 9, 30)
        })
    );
    // A past cycle the secretariat started is open to events.
    assert_eq!(
        def.cycle_of_event(date(2025, 9, 1), today, &[2023, 2025]),
        Ok(2023)
    );
}

#[test]
fn who_records_what_comes_from_the_definition() {
    let def = def();
    let (l4, l3, l2) = (level(4), level(3), level(2));
    // The dialogue: the unit's leader and the superior who calls it.
    assert!(def.may_record(EventKind::DialogueHeld, l4, &[l4]));
    assert!(def.may_record(EventKind::DialogueHeld, l4, &[l3]));
    assert!(!def.may_record(EventKind::DialogueHeld, l4, &[l2]));
    // The agreement: drafted by the leader, signed by the superior, not the other way.
    assert!(def.may_record(EventKind::AgreementSubmitted, l4, &[l4]));
    assert!(!def.may_record(EventKind::AgreementSubmitted, l4, &[l3]));
    assert!(def.may_record(EventKind::AgreementSigned, l4, &[l3]));
    assert!(!def.may_record(EventKind::AgreementSigned, l4, &[l4]));
    assert!(!def.may_record(EventKind::AgreementSigned, l4, &[l2]));
    // One who leads both the unit and the one above does not sign their own agreement.
    assert!(!def.may_record(EventKind::AgreementSigned, l4, &[l3, l4]));
    // A chief's agreement is signed by the director.
    assert!(def.may_record(EventKind::AgreementSigned, l2, &[level(1)]));
    assert!(def.may_record(EventKind::MidwayGiven, l3, &[l3]));
    // The director has no steps of their own.
    assert!(!def.may_record(EventKind::DialogueHeld, level(1), &[level(1)]));
    // `signed_by` in wheel.toml moves the signature.
    let text = crate::definition::BUILTIN_WHEEL_TOML.replacen(
        "signed_by = \"superior\"\nopens = { after = [\"dialogue_held\", \"themes_published\"] }",
        "signed_by = \"superior_of_superior\"\nopens = { after = [\"dialogue_held\", \"themes_published\"] }",
        1,
    );
    let moved = WheelDefinition::from_toml(&text, "wheel.toml").unwrap();
    assert!(moved.may_record(EventKind::AgreementSigned, l4, &[l2]));
    assert!(!moved.may_record(EventKind::AgreementSigned, l4, &[l3]));
}

#[test]
fn the_events_offered_are_those_the_rules_allow() {
    let def = def();
    let plan = def.cycle(2025).unwrap();
    let today = date(2026, 5, 15);
    let ms = Milestones {
        data_collected: Some(date(2025, 12, 18)),
        themes_published: Some(date(2026, 3, 20)),
        report_final: None,
    };
    let none = UnitFacts::default();
    assert_eq!(
        plan.allowed_events(level(4), &ms, &none, today),
        vec![EventKind::DialogueHeld]
    );
    let held = none.clone().with(UnitEvent::DialogueHeld {
        on: date(2026, 4, 2),
    });
    assert_eq!(
        plan.allowed_events(level(4), &ms, &held, today),
        vec![EventKind::AgreementSubmitted]
    );
    let submitted = held.clone().with(UnitEvent::AgreementSubmitted {
        on: date(2026, 4, 9),
    });
    assert_eq!(
        plan.allowed_events(level(4), &ms, &submitted, today),
        vec![EventKind::AgreementSubmitted, EventKind::AgreementSigned]
    );
    // A chief waits for the report: nothing yet.
    assert!(plan.allowed_events(level(2), &ms, &none, today).is_empty());
    assert!(plan.allowed_events(level(1), &ms, &none, today).is_empty());
}

/// A house added to the organisation on 20 August 2027, in the running cycle's last
/// quarter, owes nothing that was due before then: its dialogue (due 30 June 2026) is not
/// its, never late and never mailed, and what waits on it (the agreement, the midway
/// status) waits. One added on 22 June 2026, eight days before its dialogue is due, owes
/// the dialogue 20 business days after it joined, not on 30 June.
#[test]
fn a_unit_that_joins_late_owes_only_what_is_due_after_and_gets_time() {
    let def = def();
    assert_eq!(def.join_grace_days, 20);
    let plan = def.cycle(2025).unwrap();
    let themes = Milestones {
        themes_published: Some(date(2026, 3, 20)),
        ..Milestones::default()
    };
    let late = UnitFacts {
        joined: Some(date(2027, 8, 20)),
        ..UnitFacts::default()
    };
    let unit = plan.unit_deadlines(level(4), &themes, &late);
    let dialogue = unit
        .iter()
        .find(|s| s.deadline == Deadline::DialogueHeld)
        .unwrap();
    assert_eq!(
        dialogue.state(date(2027, 8, 20)),
        DeadlineState::NotOwed {
            joined: date(2027, 8, 20)
        }
    );
    assert!(!dialogue.is_actionable());
    // What waits for the dialogue (the agreement, the midway status, the follow-ups)
    // is not its either: it takes part from the next cycle.
    assert!(
        unit.iter()
            .all(|d| matches!(d.state(date(2027, 8, 20)), DeadlineState::NotOwed { .. })),
        "{unit:#?}"
    );
    assert!(next_deadline(&unit).is_none_or(|d| d.due.is_none()));

    let just_before = UnitFacts {
        joined: Some(date(2026, 6, 22)),
        ..UnitFacts::default()
    };
    let unit = plan.unit_deadlines(level(4), &themes, &just_before);
    // 20 business days after Monday 22 June 2026: Monday 20 July.
    assert_eq!(
        due_of(&unit, Deadline::DialogueHeld),
        Some(date(2026, 7, 20))
    );
    let dialogue = unit
        .iter()
        .find(|s| s.deadline == Deadline::DialogueHeld)
        .unwrap();
    assert_eq!(
        dialogue.state(date(2026, 7, 1)),
        DeadlineState::Open {
            due: Some(date(2026, 7, 20))
        }
    );
    // Held on 10 July, inside its grace: met on time.
    let held = UnitFacts {
        dialogue_held: Some(date(2026, 7, 10)),
        ..just_before.clone()
    };
    let unit = plan.unit_deadlines(level(4), &themes, &held);
    let dialogue = unit
        .iter()
        .find(|s| s.deadline == Deadline::DialogueHeld)
        .unwrap();
    assert_eq!(
        dialogue.state(date(2026, 7, 10)),
        DeadlineState::Met {
            on: date(2026, 7, 10),
            late_days: 0
        }
    );
    // A unit there from the start is late on 1 July as before.
    let unit = plan.unit_deadlines(level(4), &themes, &UnitFacts::default());
    assert_eq!(
        due_of(&unit, Deadline::DialogueHeld),
        Some(date(2026, 6, 30))
    );
}

/// A house that joined cycle 2025 on 22 June 2026 may sit it out: it then comes along on
/// cycle 2027's first day, and owes none of cycle 2025's deadlines. One there from the
/// start may not.
#[test]
fn a_late_joiner_may_sit_the_cycle_out_and_owe_none_of_it() {
    let def = def();
    let next = def.sits_out(2025, Some(date(2026, 6, 22))).unwrap();
    assert_eq!(next, def.cycle(2027).unwrap().cycle().starts());
    let plan = def.cycle(2025).unwrap();
    let themes = Milestones {
        themes_published: Some(date(2026, 3, 20)),
        ..Milestones::default()
    };
    let sitting_out = UnitFacts {
        joined: Some(next),
        ..UnitFacts::default()
    };
    assert!(
        plan.unit_deadlines(level(4), &themes, &sitting_out)
            .iter()
            .all(|d| !d.is_actionable() && d.before_joining.is_some())
    );
    assert_eq!(
        def.sits_out(2025, None),
        Err(Refusal::NotAJoiner { year: 2025 })
    );
}
