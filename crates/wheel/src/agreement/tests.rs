use super::*;
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
    Agreement::from_toml(GOOD, "aftale.toml", &catalogue())
        .unwrap()
        .0
}

#[test]
fn a_good_agreement_is_read_with_no_warnings() {
    let (a, warnings) = Agreement::from_toml(GOOD, "aftale.toml", &catalogue()).unwrap();
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
    Agreement::from_toml(text, "aftale.toml", &catalogue())
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
    assert!(p[0].contains(".indicator|`truancy` is not in indicator catalogue viborg-2024; it has absence, high_absence"), "{p:?}");
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
        p[0].contains(".weight|is 0: a weight is a whole percent from 1 to 100"),
        "{p:?}"
    );
    assert!(p[1].contains(".weight|is 160"), "{p:?}");
    // Typos in keys or values are refused by the reader, with the line.
    let p = problems_of(&GOOD.replace("horizon = \"long\"", "horizon = \"medium\""));
    assert!(
        p[0].starts_with("6|horizon|unknown variant `medium`"),
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace("baseline = \"6,1 %\"", "basline = \"6,1 %\""));
    assert!(p[0].contains("unknown field `basline`"), "{p:?}");
    let p = problems_of(&GOOD.replace(
        "target_date = 2026-12-31",
        "target_date = 2026-12-31T10:00:00",
    ));
    assert!(
        p[0].contains("\"Budget i balance\".target_date|is 2026-12-31T10:00:00: give a date"),
        "{p:?}"
    );
    let p = problems_of(&GOOD.replace(
        "title = \"Lavere sygefravær\"",
        "title = \"Budget i balance\"",
    ));
    assert!(p[0].contains(".title|is the same as goal 2's"), "{p:?}");
    assert_eq!(
        problems_of(""),
        vec!["-|goal|the agreement has no goals: add [[goal]] tables"]
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
    let (_, w) = Agreement::from_toml(text, "aftale.toml", &catalogue()).unwrap();
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
    assert!(w[0].to_string().contains("every goal is on quality"));
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
    assert!(e.to_string().contains("unknown variant `half`"), "{e}");
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
        let entries: Vec<GradeEntry> = a.goals().iter().zip(&grades).map(|(g, x)| GradeEntry {
            goal: g.title.clone(),
            grade: [Grade::Full, Grade::Partly, Grade::NotMet][usize::from(*x)],
            note: None,
        }).collect();
        let g = a.grade(&entries, &[]).unwrap();
        // Twice the score in percent is a whole number: the sum of full weights twice
        // plus partly weights once.
        let twice: u32 = a.goals().iter().zip(&entries).map(|(goal, e)| u32::from(goal.weight.percent()) * match e.grade {
            Grade::Full => 2, Grade::Partly => 1, Grade::NotMet => 0,
        }).sum();
        prop_assert_eq!(g.score.basis_points(), twice * 50);
        prop_assert!(g.score.basis_points() <= 10_000);
        prop_assert_eq!(g.score.percent() * 2.0, f64::from(twice));
        if entries.iter().all(|e| e.grade == Grade::Full) {
            prop_assert_eq!(g.score.basis_points(), 10_000);
        }
    }

    #[test]
    fn weights_that_add_to_100_are_accepted_and_others_refused(ws in weights(), extra in 1u8..50) {
        let draft = |w: &u8, i: usize| GoalDraft {
            title: format!("g{i}"),
            dimension: Some(Dimension::Quality),
            kind: Some(GoalKind::Local),
            horizon: Some(Horizon::Long),
            weight: Some(i64::from(*w)),
            partly_met: "p".into(),
            fully_met: "f".into(),
            target_date: Some("2027-06-30".parse().unwrap()),
            ..GoalDraft::default()
        };
        let drafts: Vec<GoalDraft> = ws.iter().enumerate().map(|(i, w)| draft(w, i)).collect();
        prop_assert!(Agreement::check(drafts.clone(), &[], &catalogue()).is_ok());
        let mut more = drafts;
        more.push(draft(&extra, 99));
        let err = Agreement::check(more, &[], &catalogue()).unwrap_err();
        let expected = format!("add up to {} %", 100 + u32::from(extra));
        prop_assert!(err[0].message.contains(&expected));
    }
}
