use super::*;
use crate::config_error::Problem;
use crate::phase::Deadline;

#[test]
fn the_builtin_definition_loads() {
    let def = WheelDefinition::builtin();
    assert_eq!(def.version, "viborg-2025");
    assert_eq!(def.phases().len(), 6);
    assert_eq!(def.deadline_rules().len(), 9);
    let status = def
        .unit_rule(Deadline::GoalStatus, Level::new(4).unwrap())
        .unwrap();
    assert_eq!(status.opens, Opens::EachQuarter(vec![4, 6]));
    assert_eq!(status.due, Due::EndOfItsQuarter);
    assert_eq!(status.notify_on_open, vec![Party::Superior]);
    assert_eq!(def.reminders.days_before, vec![14, 3]);
    assert_eq!(def.reminders.escalation_days_after, 7);
    assert_eq!(def.calendar.closing_days().len(), 3);
    assert_eq!(
        def.mail_time.time,
        NaiveTime::from_hms_opt(8, 0, 0).unwrap()
    );
    assert_eq!(def.mail_time.zone, chrono_tz::Europe::Copenhagen);
    let l3 = Level::new(3).unwrap();
    let sign = def.unit_rule(Deadline::AgreementSigned, l3).unwrap();
    assert_eq!(
        sign.opens,
        Opens::After(vec![Deadline::DialogueHeld, Deadline::ThemesPublished])
    );
    assert_eq!(sign.due, Due::DaysAfterOpening(30));
    let l2 = Level::new(2).unwrap();
    assert_eq!(
        def.unit_rule(Deadline::AgreementSigned, l2).unwrap().opens,
        Opens::After(vec![Deadline::ReportFinal])
    );
    assert!(def.unit_rule(Deadline::DialogueHeld, l2).is_none());
    assert_eq!(
        def.milestone_rule(Deadline::DataCollected)
            .unwrap()
            .escalate_to,
        Party::Director
    );
}

/// The built-in text with `from` replaced by `to` (which must occur exactly once).
fn edited(from: &str, to: &str) -> String {
    assert_eq!(
        BUILTIN_WHEEL_TOML.matches(from).count(),
        1,
        "`{from}` must occur once"
    );
    BUILTIN_WHEEL_TOML.replace(from, to)
}

fn line_of_text(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn problems(text: &str) -> Vec<Problem> {
    WheelDefinition::from_toml(text, "wheel.toml")
        .unwrap_err()
        .problems
}

fn one_problem(text: &str) -> Problem {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.into_iter().next().unwrap()
}

#[test]
fn an_unknown_phase_names_the_line_and_the_choices() {
    let text = edited("phase = \"quality_dialogue\"\n", "phase = \"dialogue\"\n");
    let p = one_problem(&text);
    assert_eq!(p.line, Some(line_of_text(&text, "phase = \"dialogue\"")));
    assert_eq!(p.key, "phase");
    assert!(
        p.message
            .contains("unknown variant `dialogue`, expected one of `data_collection`"),
        "{}",
        p.message
    );
    let text = edited("key = \"feedback\"", "key = \"feedback_round\"");
    assert!(
        one_problem(&text)
            .message
            .contains("unknown variant `feedback_round`")
    );
}

#[test]
fn a_missing_or_doubled_phase_is_refused() {
    let text = edited("key = \"feedback\"", "key = \"quality_report\"");
    let p = problems(&text);
    let shown: Vec<String> = p
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect();
    assert!(
        shown[0].starts_with("phase.quality_report: is defined twice (also at line"),
        "{shown:#?}"
    );
    assert!(
        shown.iter().any(|s| s.contains("`feedback` is missing")),
        "{shown:#?}"
    );
}

#[test]
fn a_window_that_ends_before_it_starts_is_refused() {
    let text = edited(
        "window = { from = 3, to = 3 }",
        "window = { from = 3, to = 2 }",
    );
    let p = one_problem(&text);
    assert_eq!(p.key, "phase.quality_report.window");
    assert_eq!(
        p.message,
        "ends (quarter 2) before it starts (quarter 3): `to` must be at least `from`"
    );
    assert_eq!(
        p.line,
        Some(line_of_text(&text, "key = \"quality_report\"") - 1)
    );
    let text = edited(
        "window = { from = 7, to = 7 }",
        "window = { from = 7, to = 8 }",
    );
    assert_eq!(
        one_problem(&text).message,
        "is quarter 8, but a cycle has quarters 0 to 7"
    );
}

#[test]
fn a_gap_in_the_wheel_is_refused() {
    let text = edited(
        "window = { from = 1, to = 6 }",
        "window = { from = 1, to = 4 }",
    );
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].message
            .starts_with("quarter 5 of the cycle belongs to no phase")
    );
    assert!(
        p[1].message
            .starts_with("quarter 6 of the cycle belongs to no phase")
    );
}

#[test]
fn a_deadline_that_waits_for_itself_is_refused() {
    let text = edited(
        "opens = { after = [\"report_final\"] }",
        "opens = { after = [\"agreement_signed\"] }",
    );
    let p = one_problem(&text);
    assert_eq!(p.key, "deadline.agreement_signed (levels 2).opens.after");
    assert_eq!(
        p.message,
        "agreement_signed waits for itself, so it would never open"
    );
    assert_eq!(p.line, Some(line_of_text(&text, "levels = [2]") - 3));
}

#[test]
fn a_deadline_that_waits_for_something_that_does_not_exist_is_refused() {
    // A name that is no deadline at all: the reader refuses it.
    let text = edited(
        "opens = { after = [\"report_final\"] }",
        "opens = { after = [\"report_done\"] }",
    );
    let p = one_problem(&text);
    assert!(
        p.message.contains("unknown variant `report_done`"),
        "{}",
        p.message
    );
    assert_eq!(p.line, Some(line_of_text(&text, "report_done")));
    // A deadline this wheel does not give level 2.
    let text = edited(
        "opens = { after = [\"report_final\"] }",
        "opens = { after = [\"dialogue_held\"] }",
    );
    let p = one_problem(&text);
    assert_eq!(
        p.message,
        "waits for dialogue_held, which does not apply to level 2: it would never open there"
    );
    // A milestone removed from the file.
    let text = BUILTIN_WHEEL_TOML.replace(
        "[[deadline]]\nkey = \"report_final\"\nphase = \"quality_report\"\nresponsible = \"secretariat\"\nopens = { quarter = 3 }\ndue = { end_of_quarter = 3 }\n",
        "",
    );
    assert_ne!(text, BUILTIN_WHEEL_TOML);
    let p = problems(&text);
    let shown: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(shown[0].starts_with("`report_final` is missing"));
    assert_eq!(
        shown[1],
        "waits for report_final, which this definition does not have"
    );
}

#[test]
fn deadlines_that_wait_in_a_circle_are_refused() {
    let text = edited(
        "key = \"themes_published\"\nphase = \"feedback\"\nresponsible = \"secretariat\"\nopens = { quarter = 1 }",
        "key = \"themes_published\"\nphase = \"feedback\"\nresponsible = \"secretariat\"\nopens = { after = [\"report_final\"] }",
    );
    let text = text.replace(
        "key = \"report_final\"\nphase = \"quality_report\"\nresponsible = \"secretariat\"\nopens = { quarter = 3 }",
        "key = \"report_final\"\nphase = \"quality_report\"\nresponsible = \"secretariat\"\nopens = { after = [\"themes_published\"] }",
    );
    let p = one_problem(&text);
    assert_eq!(p.key, "deadline.themes_published.opens.after");
    assert_eq!(
        p.message,
        "waits in a circle (themes_published → report_final → themes_published): none of them would ever open"
    );
}

#[test]
fn levels_are_checked() {
    let text = edited(
        "key = \"midway_status\"\nphase = \"midway_status\"\nlevels = [2, 3, 4]",
        "key = \"midway_status\"\nphase = \"midway_status\"\nlevels = [1, 3, 3, 4]",
    );
    let p = problems(&text);
    let shown: Vec<String> = p
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect();
    assert_eq!(
        shown,
        vec![
            "deadline.midway_status.levels: level 1 has no unit deadlines: levels are 2 (chief), 3 (leader) and 4 (daycare house leader)",
            "deadline.midway_status.levels: names level 3 twice",
        ]
    );
    let text = edited("levels = [2]", "levels = [2, 3]");
    let p = one_problem(&text);
    assert!(
        p.message
            .starts_with("is defined twice for level 3 (also at line"),
        "{}",
        p.message
    );
    // A department milestone with levels, and a unit deadline without.
    let text = edited(
        "key = \"data_collected\"\nphase = \"data_collection\"\n",
        "key = \"data_collected\"\nphase = \"data_collection\"\nlevels = [3]\n",
    );
    assert!(
        one_problem(&text)
            .message
            .contains("is a department milestone, met once for everyone: remove `levels`")
    );
    let text = edited(
        "key = \"midway_status\"\nphase = \"midway_status\"\nlevels = [2, 3, 4]\n",
        "key = \"midway_status\"\nphase = \"midway_status\"\n",
    );
    assert_eq!(
        one_problem(&text).message,
        "needs `levels`: the unit levels (2, 3 or 4) it applies to"
    );
}

#[test]
fn a_midway_status_without_an_agreement_is_refused() {
    // Drop the chiefs' agreement rule: level 2 keeps a midway status on nothing.
    let block =
        "[[deadline]]\nkey = \"agreement_signed\"\nphase = \"coherence_agreement\"\nlevels = [2]\n";
    let start = BUILTIN_WHEEL_TOML.find(block).unwrap();
    let end = start + BUILTIN_WHEEL_TOML[start..].find("\n\n").unwrap();
    let text = format!(
        "{}{}",
        &BUILTIN_WHEEL_TOML[..start],
        &BUILTIN_WHEEL_TOML[end..]
    );
    // The midway status and both follow-ups follow a signed agreement up.
    let p = problems(&text);
    let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "deadline.midway_status (levels 2, 3 and 4).levels",
            "deadline.goal_status (levels 2, 3 and 4).levels",
            "deadline.agreement_review (levels 2, 3 and 4).levels",
        ]
    );
    for p in &p {
        assert!(
            p.message
                .starts_with("level 2 has no agreement_signed deadline"),
            "{}",
            p.message
        );
    }
}

#[test]
fn a_follow_up_can_be_switched_off() {
    let text = edited(
        "key = \"goal_status\"\n",
        "key = \"goal_status\"\nenabled = false\n",
    );
    let def = WheelDefinition::from_toml(&text, "wheel.toml").unwrap();
    assert!(
        def.unit_rule(Deadline::GoalStatus, Level::new(3).unwrap())
            .is_none()
    );
    assert!(
        def.unit_rule(Deadline::AgreementReview, Level::new(3).unwrap())
            .is_some()
    );
    let plan = def.cycle(2025).unwrap().plan();
    assert!(
        plan.deadlines
            .iter()
            .all(|d| d.deadline != Deadline::GoalStatus)
    );
}

#[test]
fn a_follow_ups_quarters_are_checked_and_only_follow_ups_recur() {
    let p = one_problem(&edited(
        "every = { quarters = [4, 6] }",
        "every = { quarters = [6, 4] }",
    ));
    assert_eq!(
        p.key,
        "deadline.goal_status (levels 2, 3 and 4).every.quarters"
    );
    assert_eq!(
        p.message,
        "must name each quarter once, in order, such as [4, 6]"
    );
    let p = one_problem(&edited(
        "every = { quarters = [4, 6] }",
        "every = { quarters = [4, 8] }",
    ));
    assert_eq!(
        p.message,
        "names quarter 8, but a cycle has quarters 0 to 7"
    );
    let p = one_problem(&edited(
        "every = { quarters = [4, 6] }",
        "opens = { quarter = 4 }\ndue = { end_of_quarter = 4 }",
    ));
    assert!(
        p.message.starts_with("goal_status recurs: give `every"),
        "{}",
        p.message
    );
    let p = one_problem(&edited("every = { quarters = [5] }\n", ""));
    assert_eq!(p.key, "deadline.agreement_review (levels 2, 3 and 4).every");
    let p = one_problem(&edited(
        "opens = { quarter = 7 }\ndue = { end_of_quarter = 7 }",
        "every = { quarters = [7] }",
    ));
    assert_eq!(p.key, "deadline.midway_status (levels 2, 3 and 4).every");
    let p = one_problem(&edited(
        "key = \"midway_status\"\nphase = \"midway_status\"\n",
        "key = \"midway_status\"\nphase = \"midway_status\"\nenabled = false\n",
    ));
    assert!(
        p.message.contains("cannot be switched off"),
        "{}",
        p.message
    );
}

#[test]
fn department_milestones_are_for_the_secretariat_or_the_director() {
    let text = edited(
        "key = \"report_final\"\nphase = \"quality_report\"\nresponsible = \"secretariat\"",
        "key = \"report_final\"\nphase = \"quality_report\"\nresponsible = \"leader\"",
    );
    let p = one_problem(&text);
    assert_eq!(p.key, "deadline.report_final.responsible");
    assert!(p.message.contains("use \"secretariat\" or \"director\""));
}

#[test]
fn opening_and_due_rules_need_one_form_each_and_sensible_quarters() {
    let text = edited(
        "opens = { quarter = 7 }",
        "opens = { quarter = 7, after = [\"report_final\"] }",
    );
    assert!(
        one_problem(&text)
            .message
            .starts_with("needs exactly one of `quarter`")
    );
    let text = edited("due = { end_of_quarter = 2 }", "due = { }");
    assert!(
        one_problem(&text)
            .message
            .starts_with("needs exactly one of `end_of_quarter`")
    );
    let text = edited(
        "due = { end_of_quarter = 2 }",
        "due = { end_of_quarter = 0 }",
    );
    assert_eq!(
        one_problem(&text).message,
        "is quarter 0, before the deadline opens in quarter 1"
    );
    let text = edited("opens = { quarter = 7 }", "opens = { quarter = 9 }");
    let p = problems(&text);
    assert_eq!(p[0].message, "is 9, but a cycle has quarters 0 to 7");
    let text = edited(
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 30 }",
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 0 }",
    );
    assert_eq!(
        one_problem(&text).message,
        "is 0: give the days after opening, 1 or more"
    );
    let text = edited(
        "opens = { after = [\"report_final\"] }",
        "opens = { after = [] }",
    );
    assert_eq!(
        one_problem(&text).message,
        "is empty: name the deadlines whose meeting opens this one"
    );
}

#[test]
fn cycle_calendar_mail_and_reminder_settings_are_checked() {
    let text = edited("start_quarter = 4", "start_quarter = 5");
    let p = one_problem(&text);
    assert_eq!(p.key, "cycle.start_quarter");
    assert_eq!(p.line, Some(line_of_text(&text, "[cycle]")));
    let text = edited("length_quarters = 8", "length_quarters = 6");
    let p = problems(&text);
    assert_eq!(p[0].key, "cycle.length_quarters");
    assert!(p[0].message.contains("multiple of 4"));
    let text = edited("\"06-05\"", "\"6/5\"");
    let p = one_problem(&text);
    assert_eq!(p.key, "calendar.closing_days");
    assert_eq!(
        p.message,
        "`6/5` is not a day of the year: write it MM-DD, such as \"12-24\""
    );
    assert_eq!(p.line, Some(line_of_text(&text, "closing_days =")));
    let text = edited("time = \"08:00\"", "time = \"8 o'clock\"");
    assert_eq!(one_problem(&text).key, "mail.time");
    let text = edited(
        "timezone = \"Europe/Copenhagen\"",
        "timezone = \"Europe/Kobenhavn\"",
    );
    let p = one_problem(&text);
    assert_eq!(p.key, "mail.timezone");
    assert!(p.message.contains("IANA"));
    let text = edited("days_before = [14, 3]", "days_before = [14, 0, 14]");
    assert_eq!(problems(&text).len(), 2);
    let text = edited("escalation_days_after = 7", "escalation_days_after = 0");
    assert_eq!(one_problem(&text).key, "reminders.escalation_days_after");
    let text = edited("version = \"viborg-2025\"", "version = \"\"");
    assert_eq!(one_problem(&text).key, "version");
}

#[test]
fn unknown_keys_and_wrong_types_are_refused_by_the_reader() {
    let text = edited(
        "escalation_days_after = 7",
        "escalation_days_after = 7\nescalate_after = 7",
    );
    let p = one_problem(&text);
    assert!(
        p.message.contains("unknown field `escalate_after`"),
        "{}",
        p.message
    );
    let text = edited("length_quarters = 8", "length_quarters = \"eight\"");
    let p = one_problem(&text);
    assert_eq!(p.line, Some(line_of_text(&text, "length_quarters = ")));
    let text = edited("[mail]", "[mail");
    assert!(WheelDefinition::from_toml(&text, "wheel.toml").is_err());
}

#[test]
fn errors_display_with_file_line_and_key() {
    let text = edited(
        "window = { from = 3, to = 3 }",
        "window = { from = 3, to = 2 }",
    );
    let err = WheelDefinition::from_toml(&text, "config/wheel.toml").unwrap_err();
    let line = line_of_text(&text, "key = \"quality_report\"") - 1;
    assert_eq!(
        err.to_string(),
        format!(
            "config/wheel.toml is not valid (1 problem):\n  config/wheel.toml:{line}: phase.quality_report.window: ends (quarter 2) before it starts (quarter 3): `to` must be at least `from`"
        )
    );
}

#[test]
fn a_municipality_can_choose_another_anchor() {
    // Cycles every three years from January 2024, with the phases stretched out.
    let text = BUILTIN_WHEEL_TOML
        .replace("anchor_year = 2025", "anchor_year = 2024")
        .replace("start_quarter = 4", "start_quarter = 1")
        .replace("length_quarters = 8", "length_quarters = 12")
        .replace(
            "window = { from = 7, to = 7 }",
            "window = { from = 7, to = 11 }",
        );
    let def = WheelDefinition::from_toml(&text, "wheel.toml").unwrap();
    let c = def.cycle(2027).unwrap().cycle();
    assert_eq!(c.starts().to_string(), "2027-01-01");
    assert_eq!(c.ends().to_string(), "2029-12-31");
    assert!(def.cycle(2025).is_err());
}
