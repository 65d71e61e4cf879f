use proptest::prelude::*;

use super::*;
use crate::limits::MAX_PROBLEMS;

fn catalogue() -> IndicatorCatalogue {
    IndicatorCatalogue::builtin()
}

fn area_of(id: &str) -> Option<Area> {
    match id {
        "dt-nord-1" | "dt-nord-2" => Some(Area::Daycare),
        "sk-by" => Some(Area::School),
        _ => None,
    }
}

/// The problems of a file, as `line field: message` in English.
fn problems(text: &str) -> Vec<String> {
    read_measurements(text, &catalogue(), area_of, |_| {})
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| {
            format!(
                "{} {}: {}",
                e.line.unwrap_or(0),
                e.field.unwrap_or_default(),
                e.text.render(crate::Language::En)
            )
        })
        .collect()
}

#[test]
fn periods_read_write_and_order() {
    for (text, kind) in [
        ("2024/25", PeriodKind::SchoolYear),
        ("2099/00", PeriodKind::SchoolYear),
        ("2025", PeriodKind::Year),
        ("2025H1", PeriodKind::Half),
        ("2025Q3", PeriodKind::Quarter),
    ] {
        let p = Period::parse(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(p.kind(), kind);
        assert_eq!(p.to_string(), text);
    }
    assert_eq!(Period::parse("2025q3"), Period::parse("2025Q3"));
    for bad in [
        "2024/26",
        "24/25",
        "2025H3",
        "2025Q0",
        "2025Q5",
        "1989",
        "2101",
        "",
        "2025-26",
        "20250",
        "２０２５",
    ] {
        assert_eq!(Period::parse(bad), None, "{bad}");
    }
    let p = |t: &str| Period::parse(t).unwrap();
    assert_eq!(p("2025Q1").previous(), p("2024Q4"));
    assert_eq!(p("2025H1").previous(), p("2024H2"));
    assert_eq!(p("2025H2").previous(), p("2025H1"));
    assert_eq!(p("2024/25").previous(), p("2023/24"));
    assert!(p("2023/24") < p("2024") && p("2024") < p("2024/25"));
    assert!(p("2025") < p("2025H1") && p("2025H1") < p("2025Q1"));
    assert_eq!(p("2024/25").starts().to_string(), "2024-08-01");
    assert_eq!(p("2024/25").ends().to_string(), "2025-07-31");
    assert_eq!(p("2025Q4").ends().to_string(), "2025-12-31");
    assert_eq!(p("2025H1").ends().to_string(), "2025-06-30");
    assert_eq!(school_year_of("2025-07-31".parse().unwrap()), p("2024/25"));
    assert_eq!(school_year_of("2025-08-01".parse().unwrap()), p("2025/26"));
}

proptest! {
    /// Every period reads back as itself, and its predecessor starts before it.
    #[test]
    fn a_period_reads_back_and_its_predecessor_comes_first(
        year in 1991..2100_i32,
        kind in 0..4_u8,
        part in 1..5_u8,
    ) {
        let p = match kind {
            0 => Period::SchoolYear(year),
            1 => Period::Year(year),
            2 => Period::Half(year, 1 + part % 2),
            _ => Period::Quarter(year, part),
        };
        prop_assert_eq!(Period::parse(&p.to_string()), Some(p));
        prop_assert!(p.previous() < p);
        prop_assert_eq!(p.previous().kind(), p.kind());
    }

    /// A verdict never calls a change better when it went the wrong way, and whatever
    /// is hidden gives no verdict.
    #[test]
    fn verdicts_follow_the_direction(
        before in -100.0..100.0_f64,
        after in -100.0..100.0_f64,
        tolerance in 0.0..5.0_f64,
        higher in any::<bool>(),
    ) {
        let direction = if higher { Direction::Higher } else { Direction::Lower };
        let v = verdict(direction, tolerance, Some(Reading::Value(before)), Some(Reading::Value(after)));
        let up = after - before;
        match v {
            Verdict::Unchanged => prop_assert!(up.abs() <= tolerance),
            Verdict::Better => prop_assert!(up.abs() > tolerance && (up > 0.0) == higher),
            Verdict::Worse => prop_assert!(up.abs() > tolerance && (up > 0.0) != higher),
            Verdict::Insufficient => prop_assert!(false, "both values were shown"),
        }
        prop_assert_eq!(
            verdict(direction, tolerance, Some(Reading::TooFew), Some(Reading::Value(after))),
            Verdict::Insufficient
        );
        prop_assert_eq!(verdict(direction, tolerance, None, Some(Reading::Value(after))), Verdict::Insufficient);
    }
}

#[test]
fn a_value_from_too_few_is_never_shown_or_averaged() {
    assert_eq!(Reading::of(6.1, Some(4), 5), Reading::TooFew);
    assert_eq!(Reading::of(6.1, Some(5), 5), Reading::Value(6.1));
    assert_eq!(Reading::of(6.1, None, 5), Reading::Value(6.1));
    assert_eq!(
        average([Reading::Value(4.0), Reading::TooFew, Reading::Value(6.0)]),
        Some(5.0)
    );
    assert_eq!(average([Reading::TooFew]), None);
    // What a trend says about a hidden value: nothing but that it is hidden.
    let absence = catalogue().get("absence").unwrap().clone();
    let p = |t: &str| Period::parse(t).unwrap();
    let t = trend(
        &[
            (p("2023/24"), Reading::Value(7.0)),
            (p("2024/25"), Reading::TooFew),
        ],
        &absence,
    );
    assert_eq!(t.latest, Some((p("2024/25"), Reading::TooFew)));
    assert_eq!((t.change, t.verdict), (None, Verdict::Insufficient));
}

#[test]
fn a_trend_compares_the_latest_with_the_period_before_of_its_kind() {
    let absence = catalogue().get("absence").unwrap().clone();
    let p = |t: &str| Period::parse(t).unwrap();
    // Lower is better for absence; the calendar-year value is another kind.
    let t = trend(
        &[
            (p("2024/25"), Reading::Value(5.2)),
            (p("2022/23"), Reading::Value(6.5)),
            (p("2023/24"), Reading::Value(6.1)),
            (p("2023"), Reading::Value(1.0)),
        ],
        &absence,
    );
    assert_eq!(t.previous, Some((p("2023/24"), Reading::Value(6.1))));
    assert!((t.change.unwrap() + 0.9).abs() < 1e-9, "{t:?}");
    // 0.9 percentage points is within absence's tolerance of 1.
    assert_eq!(t.verdict, Verdict::Unchanged);
    let t = trend(
        &[
            (p("2024/25"), Reading::Value(4.0)),
            (p("2023/24"), Reading::Value(6.1)),
        ],
        &absence,
    );
    assert_eq!(t.verdict, Verdict::Better);
    // A gap: no period just before the latest.
    let t = trend(
        &[
            (p("2024/25"), Reading::Value(4.0)),
            (p("2022/23"), Reading::Value(6.1)),
        ],
        &absence,
    );
    assert_eq!((t.previous, t.verdict), (None, Verdict::Insufficient));
}

#[test]
fn a_pattern_counts_and_never_ranks() {
    let wellbeing = catalogue().get("academic_wellbeing").unwrap().clone();
    let p = |t: &str| Period::parse(t).unwrap();
    let t = |a: f64, b: f64| {
        trend(
            &[
                (p("2023/24"), Reading::Value(a)),
                (p("2024/25"), Reading::Value(b)),
            ],
            &wellbeing,
        )
    };
    let hidden = trend(&[(p("2024/25"), Reading::TooFew)], &wellbeing);
    let pat = pattern(&[t(3.0, 3.5), t(4.0, 3.5), t(3.9, 3.95), hidden]);
    assert_eq!(pat.units, 3);
    assert!((pat.average.unwrap() - 3.65).abs() < 1e-9, "{pat:?}");
    assert!(pat.spread.unwrap() > 0.0);
    assert_eq!(
        (pat.better, pat.worse, pat.unchanged, pat.insufficient),
        (1, 1, 1, 1)
    );
}

#[test]
fn a_file_as_excel_writes_it_in_danish() {
    let file = "\u{feff}unit_id;measure;period;value;n;source\r\n\
                dt-nord-1;absence;2024/25;6,1;412;Fraværsregistrering\r\n\
                dt-nord-1;sick_leave;2025H1;4,5;;HR\r\n\
                sk-by;academic_wellbeing;2024/25;3,8;97;Trivselsmålingen\r\n\
                ;;;;;\r\n";
    let rows = read_measurements(file, &catalogue(), area_of, |_| {}).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].unit_id.as_str(), "dt-nord-1");
    assert_eq!(rows[0].period.to_string(), "2024/25");
    assert!((rows[0].value - 6.1).abs() < 1e-9);
    assert_eq!(rows[0].n, Some(412));
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[1].n, None);
    assert_eq!(rows[1].source.as_deref(), Some("HR"));
    // The same with commas and decimal points.
    let file = "unit_id,measure,period,value\ndt-nord-1,absence,2024/25,6.1\nsk-by,absence,2025Q3,\"5,5\"\n";
    let rows = read_measurements(file, &catalogue(), area_of, |_| {}).unwrap();
    assert_eq!(rows.len(), 2);
    assert!((rows[1].value - 5.5).abs() < 1e-9);
}

#[test]
fn every_bad_line_is_named_with_its_field_and_nothing_is_read() {
    let file = "unit_id,measure,period,value,n\n\
                dt-nord-1,absence,2024/25,6.1,412\n\
                dt-syd-9,absence,2024/25,6.1,412\n\
                dt-nord-1,truancy,2024/25,6.1,412\n\
                dt-nord-1,absence,2024-25,6.1,412\n\
                dt-nord-1,absence,2023/24,1.234.5,412\n\
                dt-nord-1,absence,2022/23,140,412\n\
                dt-nord-1,absence,2021/22,6.1,many\n\
                dt-nord-1,absence,2024/25,5.9,400\n";
    let p = problems(file);
    assert_eq!(p.len(), 7, "{p:#?}");
    assert!(
        p[0].starts_with("3 unit_id: `dt-syd-9` is not a unit"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("4 measure: `truancy` is not a measure"),
        "{p:#?}"
    );
    assert!(
        p[2].starts_with("5 period: `2024-25` is not a period: write a school year as 2024/25"),
        "{p:#?}"
    );
    assert!(
        p[3].starts_with("6 value: `1.234.5` is not a number"),
        "{p:#?}"
    );
    assert!(
        p[4].starts_with("7 value: 140 cannot be a value of `absence`: it lies between 0 and 100"),
        "{p:#?}"
    );
    assert!(p[5].starts_with("8 n: `many` is not a count"), "{p:#?}");
    assert!(
        p[6].starts_with(
            "9 : dt-nord-1 absence 2024/25 is in the file twice: line 2 has it already"
        ),
        "{p:#?}"
    );
}

#[test]
fn people_are_refused_by_column_and_by_value() {
    let p = problems("unit_id,measure,period,value,navn\ndt-nord-1,absence,2024/25,6.1,Ida\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("1 : column `navn` is about people"),
        "{p:?}"
    );
    for cpr in ["010203-1234", "0102031234"] {
        let p = problems(&format!(
            "unit_id,measure,period,value,source\ndt-nord-1,absence,2024/25,6.1,elev {cpr}\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("2 : holds something shaped like a CPR number"),
            "{p:?}"
        );
    }
    // Ten digits that are no date, or part of a longer number, are not a CPR number.
    assert!(!looks_like_cpr("9913451234"));
    assert!(!looks_like_cpr("1010203-12345"));
    assert!(looks_like_cpr("x 311299-0001 y"));
    assert!(!looks_like_cpr("2024/25"));
    // The forms people write: a space, an en dash, dots in the date.
    for cpr in [
        "010190 1234",
        "010190\u{2013}1234",
        "01.01.90-1234",
        "01.01.90 1234",
    ] {
        assert!(looks_like_cpr(cpr), "{cpr}");
    }
}

proptest::proptest! {
    /// Every date of birth followed by four digits is found, whatever stands between
    /// and however the date is written, wherever it is in the text.
    #[test]
    fn every_separator_form_of_a_cpr_number_is_found(
        day in 1u32..=31, month in 1u32..=12, year in 0u32..=99, tail in 0u32..=9999,
        date_mark in proptest::sample::select(vec!["", ".", "-", "/"]),
        sep in proptest::sample::select(vec!["", "-", " ", "\u{2013}", "\u{2014}", ".", "/"]),
        before in "[a-zæøå ]{0,8}", after in "[a-zæøå ]{0,8}",
    ) {
        let cpr = format!("{before}{day:02}{date_mark}{month:02}{date_mark}{year:02}{sep}{tail:04}{after}");
        proptest::prop_assert!(looks_like_cpr(&cpr), "{cpr}");
    }

    /// Ordinary numbers, amounts, periods and dates are not taken for one.
    #[test]
    fn numbers_and_dates_are_not_cpr_numbers(
        whole in 0u32..=99_999, frac in 0u32..=99, year in 2000u32..=2099,
        day in 1u32..=31, month in 1u32..=12,
    ) {
        for text in [
            format!("{whole}"),
            format!("{whole},{frac}"),
            format!("{whole}.{frac:02}"),
            format!("{year}/{:02}", (year + 1) % 100),
            format!("{day:02}.{month:02}.{year}"),
            format!("{year}-{month:02}-{day:02}"),
            format!("{day:02}-{month:02}-{year} kl. 10"),
        ] {
            proptest::prop_assert!(!looks_like_cpr(&text), "{text}");
        }
    }
}

#[test]
fn a_measure_not_collected_for_the_units_area_is_refused() {
    let mut c = catalogue();
    c.beacons[0].indicators[0].areas = vec![Area::School];
    let e = read_measurements(
        "unit_id,measure,period,value\ndt-nord-1,absence,2024/25,6.1\n",
        &c,
        area_of,
        |_| {},
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].field.as_deref(), Some("measure"));
    assert!(e.to_string().contains("is not collected for"), "{e}");
}

#[test]
fn a_header_without_what_is_needed_or_an_empty_file_is_refused() {
    let p = problems("unit,measure,value\n");
    assert!(
        p.iter().any(|m| m.contains("unknown column `unit`")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|m| m.contains("lacks unit_id and period")),
        "{p:?}"
    );
    let p = problems("unit_id,measure,period,value\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("no measurements"), "{p:?}");
}

#[test]
fn more_problems_than_are_listed_are_counted() {
    let mut file = String::from("unit_id,measure,period,value\n");
    for _ in 0..(MAX_PROBLEMS + 10) {
        file.push_str("nobody,absence,2024/25,6.1\n");
    }
    let p = problems(&file);
    assert_eq!(p.len(), MAX_PROBLEMS + 1);
    assert!(p.last().unwrap().contains("10 more"), "{p:?}");
}

#[test]
fn the_catalogue_holds_the_other_measures_and_checks_ranges() {
    let c = catalogue();
    assert_eq!(c.version, "viborg-2026");
    let codes: Vec<&str> = c.measures.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(
        codes,
        ["sick_leave", "budget_deviation", "passed_danish_maths"]
    );
    let budget = c.get("budget_deviation").unwrap();
    assert_eq!((budget.min, budget.max), (-100.0, 100.0));
    let wellbeing = c.get("academic_wellbeing").unwrap();
    assert_eq!(
        (
            wellbeing.unit,
            wellbeing.min,
            wellbeing.max,
            wellbeing.tolerance
        ),
        (crate::MeasureUnit::Score, 1.0, 5.0, 0.1)
    );
    let e = IndicatorCatalogue::from_toml(
        "version = \"x\"\n[[beacon]]\ncode = \"b\"\nname_da = \"B\"\nname_en = \"B\"\n[[beacon.indicator]]\ncode = \"a\"\nname_da = \"a\"\nname_en = \"a\"\ndirection = \"lower\"\nrange = [5, 1]\n[[measure]]\ncode = \"m\"\nname_da = \"m\"\nname_en = \"m\"\ndirection = \"lower\"\ntolerance = -1\n",
        "indicators.toml",
    )
    .unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
    assert!(e.problems[0].message.contains("holds no values"), "{e}");
    assert!(e.problems[1].message.contains("is not a tolerance"), "{e}");
    // A catalogue from before units and ranges were kept still reads, as percent.
    let old = IndicatorCatalogue::from_toml(
        "version = \"viborg-2024\"\n[[beacon]]\ncode = \"b\"\nname_da = \"B\"\nname_en = \"B\"\n[[beacon.indicator]]\ncode = \"a\"\nname_da = \"a\"\nname_en = \"a\"\ndirection = \"lower\"\n",
        "indicators.toml",
    )
    .unwrap();
    let a = old.get("a").unwrap();
    assert_eq!(
        (a.unit, a.min, a.max, a.tolerance),
        (crate::MeasureUnit::Percent, 0.0, 100.0, 1.0)
    );
}

#[test]
fn a_sheet_hides_what_rests_on_too_few_and_compares_with_averages_only() {
    let p = |t: &str| Period::parse(t).unwrap();
    let row = |unit_id, area, period: &str, value, n| Row {
        unit_id,
        area,
        measure: "absence",
        period: p(period),
        value,
        n,
    };
    let rows = [
        row("dt-nord-1", Area::Daycare, "2023/24", 7.5, Some(40)),
        row("dt-nord-1", Area::Daycare, "2024/25", 5.0, Some(41)),
        row("dt-nord-2", Area::Daycare, "2024/25", 9.0, Some(3)),
        row("dt-syd-1", Area::Daycare, "2024/25", 7.0, None),
        row("sk-by", Area::School, "2024/25", 3.0, Some(300)),
    ];
    let c = catalogue();
    let s = sheet("dt-nord-1", Area::Daycare, &c, &rows, 5);
    assert_eq!(s.len(), 1, "only measures with values: {s:?}");
    let a = &s[0];
    assert_eq!(a.measure.as_str(), "absence");
    assert_eq!(a.latest, Some(5.0));
    assert_eq!(a.verdict, Verdict::Better);
    assert_eq!(a.series.len(), 2);
    // dt-nord-2's 9.0 rests on 3 respondents: in no average.
    assert_eq!(a.area_average, Some(6.0));
    assert_eq!(a.department_average, Some(5.0));
    // The chart's second line: the area in each of the unit's periods (only dt-nord-1
    // had a value in 2023/24).
    assert_eq!(
        a.area_series,
        [
            Average {
                period: p("2023/24"),
                value: Some(7.5)
            },
            Average {
                period: p("2024/25"),
                value: Some(6.0)
            }
        ]
    );
    // dt-nord-2's own sheet shows its value as hidden, with no count.
    let s = sheet("dt-nord-2", Area::Daycare, &c, &rows, 5);
    assert_eq!(
        s[0].series,
        [Point {
            period: p("2024/25"),
            value: None,
            n: None
        }]
    );
    assert_eq!((s[0].latest, s[0].verdict), (None, Verdict::Insufficient));
}

#[test]
fn patterns_take_each_area_in_the_latest_period_known_before_the_cycle() {
    let p = |t: &str| Period::parse(t).unwrap();
    let row = |unit_id, area, period: &str, value, n| Row {
        unit_id,
        area,
        measure: "absence",
        period: p(period),
        value,
        n,
    };
    let rows = [
        row("a", Area::Daycare, "2023/24", 8.0, None),
        row("a", Area::Daycare, "2024/25", 6.0, None),
        row("b", Area::Daycare, "2023/24", 5.0, None),
        row("b", Area::Daycare, "2024/25", 7.0, None),
        row("c", Area::Daycare, "2024/25", 6.5, Some(2)),
        // Not known before the cycle: left out.
        row("a", Area::Daycare, "2025/26", 1.0, None),
        row("s", Area::School, "2024/25", 4.0, None),
    ];
    let before = "2025-10-01".parse().unwrap();
    let all = patterns(&catalogue(), &rows, 5, before);
    let daycare = all
        .iter()
        .find(|x| x.measure.as_str() == "absence" && x.area == Area::Daycare)
        .unwrap();
    assert_eq!(daycare.period, p("2024/25"));
    let pat = &daycare.pattern;
    // c rests on 2 respondents: not in the average, and no verdict.
    assert_eq!((pat.units, pat.average), (2, Some(6.5)));
    assert_eq!(
        (pat.better, pat.worse, pat.unchanged, pat.insufficient),
        (1, 1, 0, 1)
    );
    let school = all
        .iter()
        .find(|x| x.measure.as_str() == "absence" && x.area == Area::School)
        .unwrap();
    assert_eq!((school.pattern.units, school.pattern.insufficient), (1, 1));
    // No family data, no family pattern.
    assert!(all.iter().all(|x| x.area != Area::Family));
}

#[test]
fn a_department_target_is_drawn_and_counted_the_measures_way() {
    let c = catalogue();
    let m = c.get("passed_danish_maths").unwrap();
    assert_eq!(
        m.target,
        Some(crate::Target {
            value: 92.0,
            year: 2025
        })
    );
    // Higher is better: at the target reaches it.
    assert_eq!(m.meets_target(92.0), Some(true));
    assert_eq!(m.meets_target(91.9), Some(false));
    assert_eq!(c.get("absence").unwrap().meets_target(1.0), None);
    let p = |t: &str| Period::parse(t).unwrap();
    let row = |unit_id, value, n| Row {
        unit_id,
        area: Area::School,
        measure: "passed_danish_maths",
        period: p("2024/25"),
        value,
        n,
    };
    // One at, one below, one hidden (3 pupils): one reaches it, of two shown.
    let rows = [
        row("sk-a", 92.0, Some(60)),
        row("sk-b", 88.0, Some(50)),
        row("sk-c", 99.0, Some(3)),
    ];
    let all = patterns(&c, &rows, 5, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
    let school = all
        .iter()
        .find(|x| x.measure.as_str() == "passed_danish_maths")
        .unwrap();
    assert_eq!((school.pattern.units, school.target_met), (2, Some(1)));
    // A measure without a target says nothing about one.
    let rows = [Row {
        measure: "absence",
        ..row("sk-a", 5.0, None)
    }];
    let all = patterns(&c, &rows, 5, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
    assert_eq!(all[0].target_met, None);
    // The sheet carries the target for the chart.
    let s = sheet("sk-a", Area::School, &c, &[row("sk-a", 92.0, Some(60))], 5);
    assert_eq!(s[0].target.map(|t| t.value), Some(92.0));
}

#[test]
fn a_target_outside_the_range_is_refused_with_its_line() {
    let text = "version = \"v\"\n[[beacon]]\ncode = \"b\"\nname_da = \"B\"\nname_en = \"B\"\n[[beacon.indicator]]\ncode = \"a\"\nname_da = \"a\"\nname_en = \"a\"\ndirection = \"higher\"\ntarget = { value = 120, year = 2025 }\n";
    let e = IndicatorCatalogue::from_toml(text, "indicators.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("target") && e.contains("[0, 100]"), "{e}");
    assert!(e.contains("indicators.toml:6"), "{e}");
}

#[test]
fn the_data_collections_gaps_count_units_missing_the_latest_period() {
    let p = |t: &str| Period::parse(t).unwrap();
    let row = |unit_id, measure, period: &str| Row {
        unit_id,
        area: Area::School,
        measure,
        period: p(period),
        value: 5.0,
        n: None,
    };
    let rows = [
        row("sk-a", "absence", "2023/24"),
        row("sk-b", "absence", "2023/24"),
        row("sk-a", "absence", "2024/25"),
        // Not ended before the cycle (1 October 2025): not the period read.
        row("sk-a", "absence", "2025/26"),
        // Complete: every unit has 2024/25.
        row("sk-a", "high_absence", "2024/25"),
    ];
    let c = catalogue();
    let all = gaps(&c, &rows, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
    let absence = all
        .iter()
        .find(|g| g.measure.as_str() == "absence")
        .unwrap();
    assert_eq!(
        (absence.period, absence.missing, absence.units),
        (Some(p("2024/25")), 1, 2)
    );
    assert!(!all.iter().any(|g| g.measure == "high_absence"));
    // A measure nobody has a value of yet is listed, without a period.
    let none = all
        .iter()
        .find(|g| g.measure.as_str() == "sick_leave")
        .unwrap();
    assert_eq!((none.period, none.units), (None, 0));
    // No data in hjul at all: nothing to say.
    assert!(gaps(&c, &[], NaiveDate::from_ymd_opt(2025, 10, 1).unwrap()).is_empty());
}
