//! The `hjul` binary as a user runs it: arguments in, text and exit code out.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{scratch, stderr, stdout};

/// The repository's config directory, as shipped.
fn shipped_config() -> PathBuf {
    common::repo("config")
}

fn hjul(dir: &Path, args: &[&str]) -> Output {
    common::hjul_with(dir, args, &[])
}

#[test]
fn plan_json_has_the_documented_shape_and_hand_worked_dates() {
    let dir = scratch("plan-json");
    let o = hjul(&dir, &["plan", "--cycle", "2025", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cycle"], 2025);
    assert_eq!(v["starts"], "2025-10-01");
    assert_eq!(v["ends"], "2027-09-30");
    let phases: Vec<(&str, &str, &str)> = v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().unwrap(),
                p["opens"].as_str().unwrap(),
                p["closes"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        vec![
            ("data_collection", "2025-10-01", "2025-12-31"),
            ("feedback", "2026-01-01", "2026-03-31"),
            ("quality_dialogue", "2026-01-01", "2026-06-30"),
            ("quality_report", "2026-07-01", "2026-09-30"),
            ("coherence_agreement", "2026-01-01", "2027-06-30"),
            ("midway_status", "2027-07-01", "2027-09-30"),
        ]
    );
    let deadlines: Vec<(&str, &str)> = v["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["deadline"].as_str().unwrap(), d["due"].as_str().unwrap()))
        .collect();
    assert_eq!(
        deadlines,
        vec![
            ("data_collected", "2025-12-30"),
            ("themes_published", "2026-03-31"),
            ("dialogue_held", "2026-06-30"),
            ("report_final", "2026-09-30"),
            // The follow-ups, each time on its own.
            ("goal_status", "2026-12-30"),
            ("agreement_review", "2027-03-31"),
            ("goal_status", "2027-06-30"),
            ("midway_status", "2027-09-30"),
        ]
    );
    assert_eq!(v["deadlines"][4]["occurrence"], 1);
    assert_eq!(v["deadlines"][6]["occurrence"], 2);
    assert_eq!(v["deadlines"][0]["moved_from"], "2025-12-31");
}

#[test]
fn plan_2027_moves_weekend_deadlines() {
    let dir = scratch("plan-2027");
    let o = hjul(&dir, &["plan", "--cycle", "2027", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let due = |name: &str| {
        v["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["deadline"] == name)
            .unwrap()["due"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(due("data_collected"), "2027-12-30");
    assert_eq!(due("report_final"), "2028-09-29");
    assert_eq!(due("midway_status"), "2029-09-28");
}

#[test]
fn plan_as_a_table_fits_80_columns() {
    let dir = scratch("plan-table");
    let o = hjul(&dir, &["plan", "--cycle", "2025"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.starts_with("Cycle 2025: 2025-10-01 – 2027-09-30 · wheel viborg-2025 (built in)"),
        "{text}"
    );
    assert!(text.contains("data_collected    2025-12-30*"), "{text}");
    assert!(
        text.contains("* moved from 2025-12-31 (closing day)"),
        "{text}"
    );
    assert!(
        text.contains("30 days after the later of dialogue_held and themes_published"),
        "{text}"
    );
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
}

#[test]
fn a_year_without_a_cycle_fails_with_a_hint() {
    let dir = scratch("no-cycle");
    let o = hjul(&dir, &["plan", "--cycle", "2026"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains("no cycle starts in 2026"), "{err}");
    assert!(err.contains("did you mean 2025?"), "{err}");
}

#[test]
fn a_date_that_is_not_one_says_how_to_write_it() {
    let dir = scratch("bad-date");
    for (args, option) in [
        (&["status", "--at", "14-03-2026"][..], "--at"),
        (
            &[
                "milestone",
                "data-collected",
                "--cycle",
                "2025",
                "--on",
                "2025-13-01",
            ][..],
            "--on",
        ),
    ] {
        let o = hjul(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(option), "{err}");
        assert!(
            err.contains("is not a date: write it as YYYY-MM-DD"),
            "{err}"
        );
        assert!(
            !err.contains("trailing input") && !err.contains("out of range"),
            "{err}"
        );
    }
}

#[test]
fn a_unit_id_that_is_not_one_is_a_usage_error_that_says_why() {
    let dir = scratch("bad-unit");
    for (args, says) in [
        (&["unit", "show", "sk vest"][..], "`sk vest` contains ` `"),
        (
            &[
                "correct",
                "dt-nord-1",
                "0199e2c4",
                "--move-to",
                ".hidden",
                "--reason",
                "fejl",
            ][..],
            "`.hidden` must start with a letter or a digit",
        ),
    ] {
        let o = hjul(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(says), "{err}");
        assert!(err.contains("as `hjul status` shows it"), "{err}");
    }
    // Refused before anything was opened: no database was made.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn an_edited_definition_is_used_and_its_mistakes_are_reported_with_file_and_line() {
    let dir = scratch("bad-config");
    let config = dir.join("my-wheel");
    std::fs::create_dir_all(&config).unwrap();
    let text = std::fs::read_to_string(shipped_config().join("wheel.toml")).unwrap();
    let bad = text.replace(
        "window = { from = 3, to = 3 }",
        "window = { from = 3, to = 1 }",
    );
    std::fs::write(config.join("wheel.toml"), &bad).unwrap();
    let o = hjul(&dir, &["plan", "--cycle", "2025", "--config", "my-wheel"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let line = bad
        .lines()
        .position(|l| l.contains("key = \"quality_report\""))
        .unwrap();
    assert!(
        err.contains(&format!(
            "my-wheel/wheel.toml:{line}: phase.quality_report.window: ends (quarter 1) before it starts (quarter 3)"
        )),
        "{err}"
    );
    // A good edit takes effect: 60 days instead of 30 for the chiefs.
    let good = text.replace(
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 30 }",
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 60 }",
    );
    std::fs::write(config.join("wheel.toml"), good).unwrap();
    let o = hjul(&dir, &["plan", "--cycle", "2025", "--config", "my-wheel"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("(my-wheel/wheel.toml)"), "{text}");
    assert!(text.contains("60 days after report_final"), "{text}");
}

#[test]
fn a_config_directory_must_exist_and_hold_the_wheel() {
    let dir = scratch("missing-config");
    let o = hjul(&dir, &["plan", "--cycle", "2025", "--config", "nowhere"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("the config directory nowhere does not exist"));
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let o = hjul(&dir, &["plan", "--cycle", "2025", "--config", "empty"]);
    assert!(
        stderr(&o).contains("empty has no wheel.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_in_the_working_directory_is_picked_up() {
    let dir = scratch("implicit-config");
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let text = std::fs::read_to_string(shipped_config().join("wheel.toml")).unwrap();
    std::fs::write(
        dir.join("config/wheel.toml"),
        text.replace("version = \"viborg-2025\"", "version = \"local-test\""),
    )
    .unwrap();
    let o = hjul(&dir, &["config", "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("wheel definition local-test from config/wheel.toml: ok"),
        "{text}"
    );
    assert!(
        text.contains(
            "indicator catalogue viborg-2026 from built in: ok (3 beacons, 12 indicators, 3 other measures)"
        ),
        "{text}"
    );
}

#[test]
fn the_calendar_shows_store_bededag_only_until_2023() {
    let dir = scratch("calendar");
    let o = hjul(&dir, &["calendar", "2023"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("2023-05-05  Fri  public holiday  Store bededag"));
    let o = hjul(&dir, &["calendar", "2024", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let days = v.as_array().unwrap();
    assert!(days.iter().all(|d| d["holiday"] != "great_prayer_day"));
    assert!(
        days.iter()
            .any(|d| d["date"] == "2024-12-24" && d["kind"] == "closing_day")
    );
    let o = hjul(&dir, &["calendar", "20000"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn every_command_has_help_with_an_example() {
    let dir = scratch("help");
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["org", "import", "--help"],
        vec!["milestone", "--help"],
        vec!["dialogue", "held", "--help"],
        vec!["agreement", "submit", "--help"],
        vec!["agreement", "sign", "--help"],
        vec!["midway", "submit", "--help"],
        vec!["cycle", "start", "--help"],
        vec!["status", "--help"],
        vec!["unit", "show", "--help"],
        vec!["serve", "--help"],
        vec!["simulate", "--help"],
        vec!["outbox", "--help"],
        vec!["outbox", "retry", "--help"],
        vec!["plan", "--help"],
        vec!["calendar", "--help"],
        vec!["config", "check", "--help"],
    ] {
        let o = hjul(&dir, &args);
        assert!(o.status.success(), "{args:?}");
        let text = stdout(&o);
        assert!(text.contains("Examples:\n  hjul "), "{args:?}: {text}");
    }
    let o = hjul(&dir, &["plan"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--cycle <YEAR>"));
}
