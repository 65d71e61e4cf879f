use super::*;
use crate::limits::{MAX_GOALS, MAX_TITLE_CHARS};
use proptest::prelude::*;

fn catalogue() -> IndicatorCatalogue {
    IndicatorCatalogue::builtin()
}

const GOOD: &str = r#"
[[goal]]
title = "Færre med højt fravær"
dimension = "quality"
kind = "common"
horizon = "long"
weight = 40
indicator = "high_absence"
baseline = "12 % med over 10 % fravær (2025)"
partly_met = "under 10 %"
fully_met = "under 8 %"
activities = ["Fraværsmøder hver måned", "Forældresamarbejde"]
target_date = 2027-06-30

[[goal]]
title = "Budget i balance"
dimension = "economy"
kind = "local"
horizon = "short"
weight = 35
baseline = "underskud 0,4 mio."
partly_met = "underskud under 0,2 mio."
fully_met = "balance"
activities = "Månedlig opfølgning"
target_date = 2026-12-31

[[goal]]
title = "Lavere sygefravær"
dimension = "wellbeing"
kind = "local"
horizon = "long"
weight = 25
baseline = "6,1 %"
partly_met = "under 5,5 %"
fully_met = "under 5 %"
target_date = 2027-06-30
"#;

fn good() -> Agreement {
    Agreement::from_toml(GOOD, "aftale.toml", &catalogue(), None)
        .unwrap()
        .0
}

#[test]
fn a_good_agreement_is_read_with_no_warnings() {
    let (a, warnings) = Agreement::from_toml(GOOD, "aftale.toml", &catalogue(), None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(a.goals().len(), 3);
    assert_eq!(
        a.goals()[0].indicator.as_ref().unwrap().as_str(),
        "high_absence"
    );
    assert_eq!(a.goals()[0].activities.len(), 2);
    assert_eq!(a.goals()[1].activities, vec!["Månedlig opfølgning"]);
    assert!(a.goals()[2].activities.is_empty());
    assert_eq!(
        a.goals()[1].target_date,
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
    );
}

fn problems_of(text: &str) -> Vec<String> {
    Agreement::from_toml(text, "aftale.toml", &catalogue(), None)
        .unwrap_err()
        .problems
        .iter()
        .map(|p| {
            format!(
                "{}|{}|{}",
                p.line.map_or("-".into(), |l| l.to_string()),
                p.key,
                p.message
            )
        })
        .collect()
}

#[test]
fn weights_must_add_up_to_100() {
    let text = GOOD.replace("weight = 25", "weight = 20");
    let p = problems_of(&text);
    assert_eq!(
        p,
        vec!["-|weight|the goals' weights add up to 95 %, not 100 %: adjust them so they do"]
    );
}

#[test]
fn every_goal_needs_both_criteria_and_errors_name_goal_and_key() {
    let text = GOOD
        .replace("partly_met = \"under 10 %\"\n", "")
        .replace("fully_met = \"balance\"", "fully_met = \"  \"");
    let p = problems_of(&text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with("2|goal 1 \"Færre med højt fravær\".partly_met|is missing"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("14|goal 2 \"Budget i balance\".fully_met|is missing"),
        "{p:?}"
    );
}

#[test]
fn common_goals_need_a_known_indicator() {
    let p = problems_of(&GOOD.replace("indicator = \"high_absence\"\n", ""));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("goal 1 \"Færre med højt fravær\".indicator|is missing"),
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace("\"high_absence\"", "\"truancy\""));
    assert!(p[0].contains(".indicator|`truancy` is not in indicator catalogue viborg-2026; it has absence, high_absence"), "{p:?}");
}

#[test]
fn shapes_and_values_are_checked() {
    let p = problems_of(
        &GOOD
            .replace("weight = 40", "weight = 0")
            .replace("weight = 35", "weight = 160"),
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains(".weight|`0` is not a weight: give a whole percent from 1 to 100"),
        "{p:?}"
    );
    assert!(p[1].contains(".weight|`160` is not a weight"), "{p:?}");
    // Typos in keys or values are refused with the goal and its line.
    let p = problems_of(&GOOD.replace("horizon = \"long\"", "horizon = \"medium\""));
    assert_eq!(
        p[0], "2|goal 1 \"Færre med højt fravær\".horizon|`medium` is not a horizon: short or long",
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace("baseline = \"6,1 %\"", "basline = \"6,1 %\""));
    assert!(
        p[0].starts_with(
            "33|goal 3.basline|`basline` is not a field here; the fields are title, dimension"
        ),
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace(
        "target_date = 2026-12-31",
        "target_date = 2026-12-31T10:00:00",
    ));
    assert!(
        p[0].contains(
            "goal 2.target_date|`2026-12-31T10:00:00` is not a date: write it as YYYY-MM-DD"
        ),
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace(
        "title = \"Lavere sygefravær\"",
        "title = \"Budget i balance\"",
    ));
    assert!(p[0].contains(".title|is the same as goal 2's"), "{p:?}");
    assert_eq!(
        problems_of(""),
        vec!["-|goal|the agreement has no goals: add at least one"]
    );
}

#[test]
fn goal_fixation_warns_but_does_not_refuse() {
    let text = r#"
[[goal]]
title = "Mindre fravær"
dimension = "quality"
kind = "common"
horizon = "long"
weight = 50
indicator = "absence"
partly_met = "a"
fully_met = "b"
target_date = 2027-06-30
[[goal]]
title = "Endnu mindre fravær"
dimension = "quality"
kind = "common"
horizon = "short"
weight = 50
indicator = "absence"
baseline = "x"
partly_met = "a"
fully_met = "b"
target_date = 2027-06-30
"#;
    let (_, w) = Agreement::from_toml(text, "aftale.toml", &catalogue(), None).unwrap();
    assert_eq!(
        w,
        vec![
            Warning::OneDimension {
                dimension: Dimension::Quality
            },
            Warning::OneIndicator {
                indicator: IndicatorCode::parse("absence").unwrap()
            },
            Warning::NoLocalGoal,
            Warning::NoBaseline {
                goal: "Mindre fravær".into()
            },
        ]
    );
    assert!(w[0].to_string().contains("every goal is on Quality"));
}

#[test]
fn grades_give_the_weighted_score() {
    let a = good();
    let grades = r#"
[[grade]]
goal = "Færre med højt fravær"
grade = "partly"
note = "9,5 %"
[[grade]]
goal = "Budget i balance"
grade = "full"
[[grade]]
goal = "Lavere sygefravær"
grade = "none"
"#;
    let g = a.grade_toml(grades, "karakterer.toml").unwrap();
    // 40 × 50 % + 35 × 100 % + 25 × 0 % = 55 %
    assert_eq!(g.score.basis_points(), 5500);
    assert_eq!(g.score.to_string(), "55 %");
    assert_eq!(g.goals[0].note.as_deref(), Some("9,5 %"));
}

#[test]
fn grades_must_cover_every_goal_once() {
    let a = good();
    let e = a
        .grade_toml(
            "[[grade]]\ngoal = \"Budget i balance\"\ngrade = \"full\"\n[[grade]]\ngoal = \"Budget i balance\"\ngrade = \"partly\"\n[[grade]]\ngoal = \"Trivsel\"\ngrade = \"full\"\n",
            "karakterer.toml",
        )
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("karakterer.toml:4: grade 2.goal: \"Budget i balance\" is graded twice (also in grade 1)"), "{text}");
    assert!(
        text.contains(
            "karakterer.toml:7: grade 3.goal: \"Trivsel\" is not a goal of this agreement"
        ),
        "{text}"
    );
    assert!(
        text.contains("goal \"Færre med højt fravær\" has no grade"),
        "{text}"
    );
    assert!(
        text.contains("goal \"Lavere sygefravær\" has no grade"),
        "{text}"
    );
    let e = a
        .grade_toml(
            "[[grade]]\ngoal = \"Budget i balance\"\ngrade = \"half\"\n",
            "k.toml",
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("k.toml:1: grade 1.grade: `half` is not a grade: full, partly or none"),
        "{e}"
    );
}

#[test]
fn scores_display_exactly() {
    assert_eq!(Score(5500).to_string(), "55 %");
    assert_eq!(Score(1650).to_string(), "16.5 %");
    assert_eq!(Score(1).to_string(), "0.01 %");
    assert_eq!(Score(1650).percent(), 16.5);
}

fn goal(i: usize, weight: u8, dimension: Dimension) -> Goal {
    Goal {
        title: format!("goal {i}"),
        dimension,
        kind: GoalKind::Local,
        horizon: Horizon::Short,
        weight: Weight::new(i64::from(weight)).unwrap(),
        indicator: None,
        baseline: "b".into(),
        partly_met: "p".into(),
        fully_met: "f".into(),
        activities: vec![],
        target_date: NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
        measured: None,
    }
}

/// Splits 100 into `n` positive whole weights.
fn weights() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=100, 1..10).prop_map(|cuts| {
        let mut points: Vec<u8> = cuts.into_iter().filter(|c| *c < 100).collect();
        points.sort_unstable();
        points.dedup();
        let mut last = 0;
        let mut out = Vec::new();
        for p in points.into_iter().chain([100]) {
            out.push(p - last);
            last = p;
        }
        out
    })
}

proptest! {
    #[test]
    fn the_score_is_the_exact_weighted_sum(ws in weights(), grades in proptest::collection::vec(0u8..3, 10)) {
        let goals: Vec<Goal> = ws.iter().enumerate().map(|(i, w)| goal(i, *w, Dimension::Quality)).collect();
        let a = Agreement { goals };
        let entries: Vec<GradeDraft> = a.goals().iter().zip(&grades).map(|(g, x)| GradeDraft {
            goal: g.title.clone(),
            grade: [Grade::Full, Grade::Partly, Grade::NotMet][usize::from(*x)].key().to_owned(),
            note: String::new(),
        }).collect();
        let g = a.grade(&entries, &[]).unwrap();
        // Twice the score in percent is a whole number: the sum of full weights twice
        // plus partly weights once.
        let twice: u32 = a.goals().iter().zip(&entries).map(|(goal, e)| u32::from(goal.weight.percent()) * match Grade::parse(&e.grade).unwrap() {
            Grade::Full => 2, Grade::Partly => 1, Grade::NotMet => 0,
        }).sum();
        prop_assert_eq!(g.score.basis_points(), twice * 50);
        prop_assert!(g.score.basis_points() <= 10_000);
        prop_assert_eq!(g.score.percent() * 2.0, f64::from(twice));
        if entries.iter().all(|e| e.grade == "full") {
            prop_assert_eq!(g.score.basis_points(), 10_000);
        }
    }

    #[test]
    fn weights_that_add_to_100_are_accepted_and_others_refused(ws in weights(), extra in 1u8..50) {
        let draft = |w: &u8, i: usize| GoalDraft {
            title: format!("g{i}"),
            dimension: "quality".into(),
            kind: "local".into(),
            horizon: "long".into(),
            weight: w.to_string(),
            partly_met: "p".into(),
            fully_met: "f".into(),
            target_date: "2027-06-30".into(),
            ..GoalDraft::default()
        };
        let drafts: Vec<GoalDraft> = ws.iter().enumerate().map(|(i, w)| draft(w, i)).collect();
        prop_assert!(Agreement::check(&drafts, &[], &catalogue(), None).is_ok());
        let mut more = drafts;
        more.push(draft(&extra, 99));
        let err = Agreement::check(&more, &[], &catalogue(), None).unwrap_err();
        let expected = format!("add up to {} %", 100 + u32::from(extra));
        prop_assert!(err[0].message.contains(&expected));
    }
}

#[test]
fn dates_may_be_quoted_and_values_written_in_danish() {
    let text = GOOD
        .replace("target_date = 2027-06-30", "target_date = \"2027-06-30\"")
        .replace("dimension = \"economy\"", "dimension = \"økonomi\"")
        .replace(
            "kind = \"local\"\nhorizon = \"short\"",
            "kind = \"lokal\"\nhorizon = \"kort\"",
        );
    let (a, _) = Agreement::from_toml(&text, "aftale.toml", &catalogue(), None).unwrap();
    assert_eq!(
        a.goals()[0].target_date,
        NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()
    );
    assert_eq!(a.goals()[1].dimension, Dimension::Economy);
    assert_eq!(a.goals()[1].horizon, Horizon::Short);
}

#[test]
fn every_problem_of_a_file_comes_in_one_round() {
    // A syntax error in goal 1, a missing field in goal 2, an unknown key and a wrong
    // weight in goal 3: four problems, one answer.
    let text = GOOD
        .replace(
            "baseline = \"12 % med over 10 % fravær (2025)\"",
            "baseline = 12 % med",
        )
        .replace("horizon = \"short\"\n", "")
        .replace("weight = 25", "weight = \"x\"\ncolour = \"red\"");
    let p = problems_of(&text);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(p[0].starts_with("9|"), "{p:#?}");
    assert!(
        p.iter()
            .any(|x| x.contains("goal 2 \"Budget i balance\".horizon|is missing")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|x| x.contains("goal 3.colour|`colour` is not a field here")),
        "{p:#?}"
    );
    assert!(
        p.iter().any(|x| x.contains(".weight|`x` is not a weight")),
        "{p:#?}"
    );
}

#[test]
fn problems_say_the_same_in_danish() {
    let e = Agreement::from_toml(
        &GOOD.replace("weight = 40", "weight = 0"),
        "aftale.toml",
        &catalogue(),
        None,
    )
    .unwrap_err();
    let p = &e.problems[0];
    assert_eq!((p.item, p.field), (Some(1), Some("weight")));
    assert_eq!(
        p.text.as_ref().unwrap().render(Language::Da),
        "»0« er ikke en vægt: angiv en hel procent fra 1 til 100"
    );
}

#[test]
fn what_a_person_may_write_is_bounded() {
    // A file over the limit is refused before it is read.
    let huge = "[[goal]]\n".repeat(100_000);
    let e = Agreement::from_toml(&huge, "a.toml", &catalogue(), None).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.problems[0]
            .message
            .starts_with("the file is 878 KB; at most 256 KB"),
        "{e}"
    );
    // Too many goals: one problem, not one per goal.
    let many = "[[goal]]\ntitle = \"x\"\n".repeat(MAX_GOALS + 1);
    let e = Agreement::from_toml(&many, "a.toml", &catalogue(), None).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert!(
        e.problems[0].message.contains("41 goals; at most 40"),
        "{e}"
    );
    // A title of a novel's length, and a line break in a title.
    let long = "ø".repeat(MAX_TITLE_CHARS + 1);
    let p = problems_of(&GOOD.replace("Budget i balance", &long));
    assert!(
        p[0].contains(".title|is 201 characters long; at most 200"),
        "{p:?}"
    );
    // Many wrong goals report the limit's worth and a count.
    let mut drafts = vec![GoalDraft::default(); MAX_GOALS];
    for (i, d) in drafts.iter_mut().enumerate() {
        d.title = format!("g{i}");
    }
    let p = Agreement::check(&drafts, &[], &catalogue(), None).unwrap_err();
    assert_eq!(p.len(), crate::limits::MAX_PROBLEMS + 1);
    assert!(
        p.last().unwrap().message.contains("more problems"),
        "{:?}",
        p.last()
    );
}

#[test]
fn target_dates_lie_in_this_cycle_or_the_next() {
    let targets = Some(TargetDates {
        first: NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(),
        last: NaiveDate::from_ymd_opt(2029, 9, 30).unwrap(),
    });
    assert!(Agreement::from_toml(GOOD, "a.toml", &catalogue(), targets).is_ok());
    for bad in ["0001-01-01", "9999-12-31"] {
        let e = Agreement::from_toml(
            &GOOD.replace("2026-12-31", bad),
            "a.toml",
            &catalogue(),
            targets,
        )
        .unwrap_err();
        assert!(
            e.problems[0]
                .message
                .contains("is outside 2025-10-01 – 2029-09-30"),
            "{e}"
        );
    }
}

#[test]
fn many_wrong_grades_against_long_titles_cost_kilobytes() {
    // The finding: 3,000 wrong goal names against 30 KB titles made answers of hundreds
    // of megabytes. Titles are bounded when the agreement is made; the grades are
    // reported up to the limit, and the goals' titles listed once.
    let a = good();
    let long = "x".repeat(30_000);
    let grades: Vec<GradeDraft> = (0..3_000)
        .map(|i| GradeDraft {
            goal: format!("{long}{i}"),
            grade: "full".into(),
            note: String::new(),
        })
        .collect();
    let p = a.grade(&grades, &[]).unwrap_err();
    let bytes: usize = p.iter().map(|x| x.message.len() + x.key.len()).sum();
    assert!(p.len() <= crate::limits::MAX_PROBLEMS + 1, "{}", p.len());
    assert!(bytes < 64 * 1024, "{bytes} bytes of problems");
}

#[test]
fn the_editor_round_trip_keeps_every_field() {
    let a = good();
    let drafts: Vec<GoalDraft> = a.goals().iter().map(GoalDraft::from).collect();
    let (again, _) = Agreement::check(&drafts, &[], &catalogue(), None).unwrap();
    assert_eq!(again, a);
    // And through the file kept on record.
    let (from_file, _) =
        Agreement::from_toml(&a.to_toml(), "kept.toml", &catalogue(), None).unwrap();
    assert_eq!(from_file, a);
}

/// GOOD with numbers on its first goal (high_absence: lower is better, percent).
fn with_values(baseline: &str, partly: &str, fully: &str) -> String {
    let mut lines = String::new();
    for (k, v) in [
        ("baseline_value", baseline),
        ("partly_met_value", partly),
        ("fully_met_value", fully),
    ] {
        if !v.is_empty() {
            lines.push_str(&format!("{k} = {v}\n"));
        }
    }
    GOOD.replacen(
        "target_date = 2027-06-30\n",
        &format!("target_date = 2027-06-30\n{lines}"),
        1,
    )
}

#[test]
fn numeric_criteria_are_read_checked_and_written_back() {
    let (a, _) = Agreement::from_toml(
        &with_values("12", "10", "\"8,0\""),
        "a.toml",
        &catalogue(),
        None,
    )
    .unwrap();
    let c = a.goals()[0].measured.unwrap();
    assert_eq!((c.baseline, c.partly_met, c.fully_met), (12.0, 10.0, 8.0));
    assert_eq!(a.goals()[1].measured, None);
    // Written as a file and read again: the same agreement.
    let again = Agreement::from_toml(&a.to_toml(), "a.toml", &catalogue(), None)
        .unwrap()
        .0;
    assert_eq!(again, a);
    // Lower is better for high absence: partly met must lie below the baseline.
    let p = problems_of(&with_values("12", "13", "8"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains(".partly_met_value|partly met (13) must be better than the baseline (12); for this indicator lower is better"),
        "{p:?}"
    );
    // Fully met short of partly met.
    let p = problems_of(&with_values("12", "10", "11"));
    assert!(p[0].contains(".fully_met_value|fully met (11)"), "{p:?}");
    // All three or none; a number; within the indicator's range.
    let p = problems_of(&with_values("12", "", "8"));
    assert!(p[0].contains(".partly_met_value|is missing"), "{p:?}");
    let p = problems_of(&with_values("12", "\"ti\"", "8"));
    assert!(p[0].contains("`ti` is not a number"), "{p:?}");
    let p = problems_of(&with_values("12", "10", "-1"));
    assert!(
        p[0].contains(".fully_met_value|-1 cannot be a value of `high_absence`"),
        "{p:?}"
    );
    // A local goal has no indicator to measure numbers on.
    let text = GOOD.replacen(
        "target_date = 2026-12-31\n",
        "target_date = 2026-12-31\nbaseline_value = 1\npartly_met_value = 2\nfully_met_value = 3\n",
        1,
    );
    let p = problems_of(&text);
    assert!(
        p[0].contains(
            "goal 2 \"Budget i balance\".baseline_value|numbers for the criteria need an indicator"
        ),
        "{p:?}"
    );
}

#[test]
fn the_proposed_grade_follows_the_thresholds_the_indicators_way() {
    use crate::indicators::Direction;
    // Higher is better: 76 partly, 80 fully.
    let up = Criteria {
        baseline: 72.0,
        partly_met: 76.0,
        fully_met: 80.0,
    };
    for (value, grade) in [
        (70.0, Grade::NotMet),
        (75.99, Grade::NotMet),
        (76.0, Grade::Partly),
        (79.99, Grade::Partly),
        (80.0, Grade::Full),
        (95.0, Grade::Full),
    ] {
        assert_eq!(up.grade(Direction::Higher, value), grade, "{value}");
    }
    // Lower is better: 10 partly, 8 fully.
    let down = Criteria {
        baseline: 12.0,
        partly_met: 10.0,
        fully_met: 8.0,
    };
    for (value, grade) in [
        (13.0, Grade::NotMet),
        (10.01, Grade::NotMet),
        (10.0, Grade::Partly),
        (8.01, Grade::Partly),
        (8.0, Grade::Full),
        (2.0, Grade::Full),
    ] {
        assert_eq!(down.grade(Direction::Lower, value), grade, "{value}");
    }
}

proptest! {
    /// Whatever the thresholds, a better value never earns a lower grade.
    #[test]
    fn a_better_value_never_earns_a_lower_grade(
        base in 0.0..50.0f64, step1 in 0.1..20.0f64, step2 in 0.0..20.0f64,
        a in 0.0..100.0f64, b in 0.0..100.0f64,
    ) {
        use crate::indicators::Direction;
        let c = Criteria { baseline: base, partly_met: base + step1, fully_met: base + step1 + step2 };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(c.grade(Direction::Higher, hi).percent() >= c.grade(Direction::Higher, lo).percent());
        let c = Criteria { baseline: 100.0 - base, partly_met: 100.0 - base - step1, fully_met: 100.0 - base - step1 - step2 };
        prop_assert!(c.grade(Direction::Lower, lo).percent() >= c.grade(Direction::Lower, hi).percent());
    }
}

#[test]
fn a_grade_against_the_proposal_needs_a_reason() {
    let a = Agreement::from_toml(&with_values("12", "10", "8"), "a.toml", &catalogue(), None)
        .unwrap()
        .0;
    let c = catalogue();
    let m = c.get("high_absence").unwrap();
    let p = |t: &str| crate::data::Period::parse(t).unwrap();
    let series = [
        (p("2024/25"), crate::data::Reading::Value(12.5)),
        (p("2025/26"), crate::data::Reading::Value(9.0)),
    ];
    let proposal = crate::data::propose(m, a.goals()[0].measured.unwrap(), &series).unwrap();
    // 9.0 is past partly met (10), short of fully met (8): partly.
    assert_eq!((proposal.grade, proposal.value), (Grade::Partly, 9.0));
    // The latest value hidden: no proposal, never one from an older value.
    let hidden = [
        (p("2024/25"), crate::data::Reading::Value(7.0)),
        (p("2025/26"), crate::data::Reading::TooFew),
    ];
    assert_eq!(
        crate::data::propose(m, a.goals()[0].measured.unwrap(), &hidden),
        None
    );
    let proposals: BTreeMap<String, crate::data::Proposal> =
        [(a.goals()[0].title.clone(), proposal)]
            .into_iter()
            .collect();
    let grades = |first: &str, note: &str| {
        let mut g = vec![GradeDraft {
            goal: a.goals()[0].title.clone(),
            grade: first.into(),
            note: note.into(),
        }];
        for goal in &a.goals()[1..] {
            g.push(GradeDraft {
                goal: goal.title.clone(),
                grade: "full".into(),
                note: String::new(),
            });
        }
        a.grade(&g, &[]).unwrap()
    };
    // Confirmed: fine. Overridden without a reason: refused at that grade's note.
    assert_eq!(grades("partly", "").against(&proposals), Ok(()));
    let e = grades("full", "").against(&proposals).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].key, "grade 1.note");
    assert!(
        e[0].message.contains("hjul proposes \"Partly met\""),
        "{}",
        e[0].message
    );
    assert_eq!((e[0].item, e[0].field), (Some(1), Some("note")));
    // Overridden with a reason: fine, and both stay on record (the store keeps them).
    assert_eq!(
        grades("full", "Fraværet faldt yderligere i efteråret").against(&proposals),
        Ok(())
    );
}
