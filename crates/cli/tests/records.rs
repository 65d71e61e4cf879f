//! The database commands as a user runs them, on the embedded SQLite default.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{failed, ok, scratch};

fn examples() -> PathBuf {
    common::repo("examples")
}

/// As a secretariat on 22 November 2026.
fn hjul(dir: &Path, args: &[&str]) -> Output {
    common::hjul_with(
        dir,
        args,
        &[("HJUL_TODAY", "2026-11-22"), ("HJUL_ACTOR", "test")],
    )
}

#[test]
fn the_readme_demo_shows_a_populated_status() {
    let dir = scratch("demo");
    let text = ok(&hjul(&dir, &["demo", "--no-serve"]));
    assert!(
        text.contains("Cycle 2025 on 2027-08-20 · open: Midway status – leaders' forum"),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("fr-ppr     awaiting dialogue   dialogue 2026-06-30")
                && l.contains(" 416d ")
        ),
        "{text}"
    );
    // A status on the goals not given is overdue in the list too, as in the unit's table
    // and the mail.
    assert!(
        text.lines().any(|l| l
            .starts_with("sk-vest    in force            goal status 2026-12-30")
            && l.contains(" 233d ")),
        "{text}"
    );
    assert!(
        text.contains("16 units · no steps 1 · awaiting dialogue 1 · awaiting agreement 2 ·"),
        "{text}"
    );
    // It can be run again, and its database answers the commands it suggests.
    ok(&hjul(&dir, &["demo", "--no-serve"]));
    // With no day given, a command on the demo's database works as of the demo's day,
    // not the machine's: its status and its report's midway section agree with the
    // dashboard the demo serves.
    let own_day = common::hjul_with(
        &dir,
        &["status", "--database-url", "hjul-demo.db", "--overdue"],
        &[],
    );
    assert!(
        ok(&own_day).contains("Cycle 2025 on 2027-08-20"),
        "{}",
        ok(&own_day)
    );
    assert!(
        common::stderr(&own_day).contains("it works as of its day, 2027-08-20"),
        "{}",
        common::stderr(&own_day)
    );
    ok(&common::hjul_with(
        &dir,
        &[
            "report",
            "--database-url",
            "hjul-demo.db",
            "--cycle",
            "2025",
            "--format",
            "md",
            "--output",
            "demo.md",
        ],
        &[],
    ));
    let md = std::fs::read_to_string(dir.join("demo.md")).unwrap();
    assert!(md.contains("lavet 20.08.2027"), "{md}");
    assert!(md.contains("Midtvejsstatus er givet for "), "{md}");
    // The quality report of the demo's cycle, and a cycle not begun, refused.
    let out = ok(&hjul(
        &dir,
        &[
            "report",
            "--database-url",
            "hjul-demo.db",
            "--cycle",
            "2025",
            "--format",
            "md",
            "--output",
            "rapport.md",
        ],
    ));
    assert!(
        out.starts_with("wrote rapport.md (draft of cycle 2025, 16 units,"),
        "{out}"
    );
    let md = std::fs::read_to_string(dir.join("rapport.md")).unwrap();
    assert!(md.starts_with("# Kvalitetsrapport 2025–2027"), "{md}");
    // Mariehønen's leader let the dialogue's notes be quoted.
    assert!(
        md.contains("> Sprogvurderingerne viser fremgang, men de yngste halter efter\\.\\\n"),
        "{md}"
    );
    let err = failed(&hjul(
        &dir,
        &[
            "report",
            "--database-url",
            "hjul-demo.db",
            "--cycle",
            "2029",
            "--output",
            "x.pdf",
        ],
    ));
    assert!(
        err.contains("cycle 2029 has not been started, so there is nothing to report on"),
        "{err}"
    );
    assert!(!dir.join("x.pdf").exists());
    let err = failed(&hjul(&dir, &["report", "--database-url", "hjul-demo.db"]));
    assert!(
        err.contains("give the cycle and the file: hjul report --cycle 2025 --output"),
        "{err}"
    );
    // A house's data sheet for its dialogue.
    let out = ok(&hjul(
        &dir,
        &[
            "report",
            "sheet",
            "dt-nord-1",
            "--database-url",
            "hjul-demo.db",
            "--format",
            "md",
            "--output",
            "datablad.md",
        ],
    ));
    assert!(
        out.starts_with("wrote datablad.md (data sheet of dt-nord-1, 3 measures,"),
        "{out}"
    );
    let md = std::fs::read_to_string(dir.join("datablad.md")).unwrap();
    assert!(md.starts_with("# Datablad: Børnehuset Mariehønen"), "{md}");
    // The municipality's own wording, from hjul.toml's [report] templates (here the
    // environment's), the missing files taken from the built-in ones; a broken template
    // is refused with its file and line.
    std::fs::create_dir_all(dir.join("tpl/da")).unwrap();
    std::fs::write(
        dir.join("tpl/da/report.md"),
        "# Vores rapport {{ r.years }}\n\n{{ r.scope }}\n",
    )
    .unwrap();
    let report_md = [
        "report",
        "--database-url",
        "hjul-demo.db",
        "--cycle",
        "2025",
        "--format",
        "md",
        "--output",
        "egen.md",
    ];
    let env = [
        ("HJUL_TODAY", "2026-11-22"),
        ("HJUL__REPORT__TEMPLATES", "tpl"),
    ];
    ok(&common::hjul_with(&dir, &report_md, &env));
    let md = std::fs::read_to_string(dir.join("egen.md")).unwrap();
    assert!(md.starts_with("# Vores rapport 2025–2027"), "{md}");
    std::fs::write(dir.join("tpl/da/report.md"), "# {{ r.years \n").unwrap();
    let err = failed(&common::hjul_with(&dir, &report_md, &env));
    assert!(
        err.contains("the report template da/report.md, line 1"),
        "{err}"
    );
    // The demo's final report is kept: it is never made again.
    let err = failed(&hjul(
        &dir,
        &[
            "report",
            "final",
            "--cycle",
            "2025",
            "--database-url",
            "hjul-demo.db",
        ],
    ));
    assert!(
        err.contains("the final report of cycle 2025 was not made")
            && err.contains("cycle 2025 already has its final report, and it is never replaced"),
        "{err}"
    );
    // The cycle for the archive: open files, each named in the manifest with a hash
    // that `sha256sum` (not hjul) agrees with, the final report as kept among them.
    let export = [
        "archive",
        "export",
        "--cycle",
        "2025",
        "--output",
        "arkiv-2025",
        "--database-url",
        "hjul-demo.db",
    ];
    let wrote = ok(&hjul(&dir, &export));
    assert!(wrote.contains("kvalitetsrapport-2025.pdf"), "{wrote}");
    let arkiv = dir.join("arkiv-2025");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(arkiv.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() >= 11, "{manifest:#}");
    for f in files {
        let name = f["name"].as_str().unwrap();
        let sum = std::process::Command::new("sha256sum")
            .arg(arkiv.join(name))
            .output()
            .unwrap();
        let sum = String::from_utf8(sum.stdout).unwrap();
        assert_eq!(
            sum.split_whitespace().next(),
            f["sha256"].as_str(),
            "{name}"
        );
        if let Some(rows) = f["rows"].as_u64() {
            let text = std::fs::read_to_string(arkiv.join(name)).unwrap();
            // One header line; a quoted field may hold line breaks, so at least as many.
            assert!(text.matches("\r\n").count() as u64 > rows, "{name}");
        }
    }
    let pdf = files
        .iter()
        .find(|f| f["name"] == "kvalitetsrapport-2025.pdf")
        .unwrap();
    assert_eq!(pdf["sha256"], manifest["final_report_sha256"]);
    let events = std::fs::read_to_string(arkiv.join("events.csv")).unwrap();
    assert!(
        events.starts_with("event_id,unit_id,kind,on,revision,notes,"),
        "{events}"
    );
    assert!(events.contains(",dt-nord-1,dialogue_held,"), "{events}");
    let err = failed(&hjul(&dir, &export));
    assert!(err.contains("arkiv-2025 is not empty"), "{err}");
    let json = ok(&hjul(
        &dir,
        &[
            "status",
            "--database-url",
            "hjul-demo.db",
            "--at",
            "2027-08-20",
            "--overdue",
            "--format",
            "json",
        ],
    ));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unit_id"].as_str().unwrap())
        .collect();
    // Late dialogues and agreements, and the statuses on the goals not given since
    // December 2026 (the same units the table above marks late).
    assert_eq!(
        ids,
        [
            "fr",
            "sk",
            "fr-fc",
            "fr-ppr",
            "sk-by",
            "sk-oest",
            "sk-vest",
            "dt-nord-2",
            "dt-nord-3",
            "dt-syd-1",
            "dt-syd-2"
        ]
    );
    let r = &rows[3];
    assert_eq!(r["next_deadline"]["deadline"], "dialogue_held");
    assert_eq!(r["next_deadline"]["due"], "2026-06-30");
    assert_eq!(r["responsible"], "frederik.lund@skovby.dk");
    assert_eq!(r["agreement"], serde_json::Value::Null);
    let shown = ok(&hjul(
        &dir,
        &[
            "unit",
            "show",
            "dt-nord-1",
            "--database-url",
            "hjul-demo.db",
            "--at",
            "2027-08-20",
        ],
    ));
    assert!(
        shown.contains("Agreement rev. 1 · submitted 2026-04-09 · signed 2026-04-20 · score 50 %"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "  Coherence agreement signed\n      due 2026-04-17      met 2026-04-20, 3 days late"
        ),
        "{shown}"
    );
}

#[test]
fn a_secretariat_sets_up_and_records_a_cycle() {
    let dir = scratch("setup");
    let err = failed(&hjul(&dir, &["status"]));
    assert!(
        err.contains("there is no database at hjul.db: run `hjul migrate`"),
        "{err}"
    );
    assert!(
        !dir.join("hjul.db").exists(),
        "a refused command must not create the database"
    );
    assert!(ok(&hjul(&dir, &["migrate"])).contains("applied m20261122_000001_initial"));
    assert!(ok(&hjul(&dir, &["migrate"])).contains("is up to date"));
    let org = examples().join("organisation.csv");
    let text = ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()]));
    assert!(text.contains("16 units (16 new, 0 changed"), "{text}");

    let themes = examples().join("themes.txt");
    let text = ok(&hjul(
        &dir,
        &[
            "milestone",
            "themes-published",
            "--cycle",
            "2025",
            "--on",
            "2026-03-20",
            "--themes",
            themes.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        text.trim(),
        "recorded: themes_published of cycle 2025 on 2026-03-20 with 3 focus themes"
    );
    // Leave to quote notes there are none of is refused before anything is written.
    let usage = hjul(
        &dir,
        &[
            "dialogue",
            "held",
            "sk-vest",
            "--on",
            "2026-03-04",
            "--for-report",
        ],
    );
    // A command written wrong exits with 2, as every such mistake does.
    assert_eq!(usage.status.code(), Some(2));
    let err = String::from_utf8_lossy(&usage.stderr);
    assert!(err.contains("--notes <FILE>"), "{err}");
    ok(&hjul(
        &dir,
        &["dialogue", "held", "sk-vest", "--on", "2026-03-04"],
    ));
    let agreement = examples().join("agreement.toml");
    let text = ok(&hjul(
        &dir,
        &[
            "agreement",
            "submit",
            "sk-vest",
            "--file",
            agreement.to_str().unwrap(),
            "--on",
            "2026-04-10",
        ],
    ));
    assert!(
        text.contains("submitted in cycle 2025: revision 1"),
        "{text}"
    );
    ok(&hjul(
        &dir,
        &["agreement", "sign", "sk-vest", "--on", "2026-04-16"],
    ));

    // Refused, with the reason and a non-zero exit.
    let err = failed(&hjul(
        &dir,
        &["agreement", "sign", "sk-oest", "--on", "2026-04-16"],
    ));
    assert_eq!(
        err.trim(),
        "error: the agreement of sk-oest was not signed: refused: Coherence agreement signed waits for Quality dialogue: record that first"
    );
    let err = failed(&hjul(
        &dir,
        &["dialogue", "held", "sk-oest", "--on", "2026-12-01"],
    ));
    assert!(
        err.contains("2026-12-01 is in the future (today is 2026-11-22)"),
        "{err}"
    );
    let grades = examples().join("grades.toml");
    let err = failed(&hjul(
        &dir,
        &[
            "midway",
            "submit",
            "sk-vest",
            "--file",
            grades.to_str().unwrap(),
            "--on",
            "2026-11-01",
        ],
    ));
    assert!(err.contains("Midway status opens on 2027-07-01"), "{err}");

    // The follow-up between the dialogues: the half-yearly status is open in Q4 2026,
    // one paragraph per goal; the review waits for the new year.
    let give_status = |file: &Path| {
        hjul(
            &dir,
            &[
                "follow-up",
                "status",
                "sk-vest",
                "--file",
                file.to_str().unwrap(),
            ],
        )
    };
    // A status short of a goal is refused, saying so, and records nothing (the full one
    // after it is accepted for the same time).
    let short = dir.join("short.txt");
    std::fs::write(&short, "Kun ét mål.\n").unwrap();
    let err = failed(&give_status(&short));
    assert!(
        err.contains("1 of 3 statuses are given: give one status per goal"),
        "{err}"
    );
    let status = examples().join("goal-status.txt");
    assert_eq!(
        ok(&give_status(&status)).trim(),
        "recorded in cycle 2025: the status on 3 goals of sk-vest on 2026-11-22"
    );
    let err = failed(&give_status(&status));
    assert!(
        err.contains("Half-yearly status on the goals opens on 2027-04-01"),
        "{err}"
    );
    let err = failed(&hjul(&dir, &["follow-up", "review", "sk-vest"]));
    assert!(
        err.contains("Yearly review of the agreement opens on 2027-01-01"),
        "{err}"
    );

    let json = ok(&hjul(
        &dir,
        &["status", "--format", "json", "--area", "school"],
    ));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let vest = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit_id"] == "sk-vest")
        .unwrap();
    assert_eq!(vest["step"], "in_force");
    assert_eq!(vest["agreement"]["state"], "in_force");
    assert_eq!(vest["cycle"], 2025);
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let table = ok(&hjul(&dir, &["status"]));
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    // Eleven level 3–4 units have not held their dialogue (due 30 June).
    assert!(table.contains("overdue 11"), "{table}");
    // A date meant for cycle 2025 with last year's year is refused, naming its cycle,
    // and nothing is recorded.
    let err = failed(&hjul(
        &dir,
        &[
            "dialogue",
            "held",
            "dt-nord-1",
            "--on",
            "2025-09-15",
            "--cycle",
            "2025",
        ],
    ));
    assert!(
        err.contains("2025-09-15 falls in cycle 2023, not in cycle 2025"),
        "{err}"
    );
    // So is a follow-up's, with the same words.
    let err = failed(&hjul(
        &dir,
        &[
            "follow-up",
            "review",
            "dt-nord-1",
            "--on",
            "2025-09-15",
            "--cycle",
            "2025",
        ],
    ));
    assert!(
        err.contains("2025-09-15 falls in cycle 2023, not in cycle 2025"),
        "{err}"
    );
    assert!(ok(&hjul(&dir, &["status"])).contains("overdue 11"));
}

#[test]
fn a_bad_organisation_file_is_reported_by_line_and_nothing_is_written() {
    let dir = scratch("bad-org");
    ok(&hjul(&dir, &["migrate"]));
    let good = std::fs::read_to_string(examples().join("organisation.csv")).unwrap();
    let bad = good
        .replace(
            "dt-nord-2,Børnehuset Spiren,4,dt-nord",
            "dt-nord-2,Børnehuset Spiren,4,dt-vest",
        )
        .replace("anna.bech@skovby.dk", "anna.bech(a)skovby.dk")
        .replace("sk-by,Byskolen,3,sk", "sk-by,Byskolen,4,sk");
    std::fs::write(dir.join("org.csv"), bad).unwrap();
    let err = failed(&hjul(&dir, &["org", "import", "org.csv"]));
    assert!(
        err.contains(
            "org.csv was not imported: 3 problems in the organisation file, nothing was imported:"
        ),
        "{err}"
    );
    assert!(
        err.contains("line 6, leader_email: `anna.bech(a)skovby.dk` contains `(`"),
        "{err}"
    );
    assert!(
        err.contains("line 9, parent_id: unknown parent `dt-vest`"),
        "{err}"
    );
    assert!(err.contains("line 15, level: wrong level"), "{err}");
    assert!(ok(&hjul(&dir, &["status"])).contains("No units match."));
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_line_and_the_fix() {
    let dir = scratch("latin1-org");
    ok(&hjul(&dir, &["migrate"]));
    // As Excel's plain "CSV" writes it: "ø" of "Børn" as the single byte 0xF8.
    let good = std::fs::read(examples().join("organisation.csv")).unwrap();
    let mut latin1 = Vec::new();
    let mut i = 0;
    while i < good.len() {
        if good[i..].starts_with("ø".as_bytes()) {
            latin1.push(0xF8);
            i += 2;
        } else {
            latin1.push(good[i]);
            i += 1;
        }
    }
    std::fs::write(dir.join("org.csv"), latin1).unwrap();
    let err = failed(&hjul(&dir, &["org", "import", "org.csv"]));
    assert!(
        err.contains("org.csv line 2: the file is not UTF-8 text"),
        "{err}"
    );
    assert!(err.contains("CSV UTF-8"), "{err}");
    assert!(ok(&hjul(&dir, &["status"])).contains("No units match."));
}

#[test]
fn a_database_behind_the_program_is_refused_until_migrated() {
    let dir = scratch("behind");
    ok(&hjul(&dir, &["migrate"]));
    // Make an empty SQLite file look like a database without the schema.
    std::fs::write(dir.join("empty.db"), b"").unwrap();
    let err = failed(&hjul(&dir, &["status", "--database-url", "empty.db"]));
    assert!(
        err.contains("has no hjul schema: run `hjul migrate`"),
        "{err}"
    );
    ok(&hjul(&dir, &["migrate", "--database-url", "empty.db"]));
    ok(&hjul(
        &dir,
        &["status", "--database-url", "sqlite:empty.db"],
    ));
}

#[test]
fn the_secretariat_corrects_a_record_and_takes_the_status_to_excel() {
    let dir = scratch("correct");
    ok(&hjul(&dir, &["migrate"]));
    let org = examples().join("organisation.csv");
    ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()]));
    ok(&hjul(
        &dir,
        &["dialogue", "held", "dt-nord-1", "--on", "2026-03-16"],
    ));
    // A date in a cycle that was never started: refused, with the date likely meant;
    // nothing is started by it.
    let err = failed(&hjul(
        &dir,
        &["dialogue", "held", "dt-nord-2", "--on", "2024-03-01"],
    ));
    assert!(err.contains("did you mean 2026-03-01?"), "{err}");
    let err = failed(&hjul(
        &dir,
        &["dialogue", "held", "dt-nord-2", "--on", "1650-01-01"],
    ));
    assert!(err.contains("far outside the cycles on record"), "{err}");

    // The event's id from `unit show`, and the correction with its reason.
    let shown = ok(&hjul(&dir, &["unit", "show", "dt-nord-1"]));
    let id = shown
        .lines()
        .find(|l| l.contains("Quality dialogue held") && l.contains('['))
        .and_then(|l| l.split('[').nth(1))
        .and_then(|l| l.split(']').next())
        .unwrap()
        .to_owned();
    let err = failed(&hjul(
        &dir,
        &[
            "correct",
            "dt-nord-1",
            &id[..4],
            "--on",
            "2026-03-19",
            "--reason",
            "x",
        ],
    ));
    assert!(err.contains("at least 8 characters"), "{err}");
    let text = ok(&hjul(
        &dir,
        &[
            "correct",
            "dt-nord-1",
            &id,
            "--on",
            "2026-03-19",
            "--reason",
            "Mødet blev flyttet",
        ],
    ));
    assert!(
        text.starts_with("corrected: dialogue_held of dt-nord-1 on 2026-03-16 in cycle 2025"),
        "{text}"
    );
    let shown = ok(&hjul(&dir, &["unit", "show", "dt-nord-1"]));
    assert!(
        shown.contains(&format!(
            "2026-03-16  [{id}]  Quality dialogue held, corrected"
        )),
        "{shown}"
    );
    assert!(shown.contains("2026-03-19  ["), "{shown}");
    // In Danish: the wheel's words and Danish dates, and who recorded it in full.
    let dansk = ok(&hjul(&dir, &["unit", "show", "dt-nord-1", "--lang", "da"]));
    assert!(
        dansk.contains(&format!(
            "16.03.2026  [{id}]  Kvalitetssamtale afholdt, rettet"
        )),
        "{dansk}"
    );
    assert!(dansk.contains("      registreret "), "{dansk}");
    assert!(dansk.contains(" af test"), "{dansk}");
    assert!(dansk.contains("Frister\n  Kvalitetssamtale\n"), "{dansk}");
    let status = ok(&hjul(
        &dir,
        &["status", "--lang", "da", "--area", "daycare"],
    ));
    assert!(status.starts_with("Cyklus 2025 den 22.11.2026"), "{status}");
    assert!(
        status.lines().any(|l| l.starts_with("ENHED ")
            && l.contains(" TRIN ")
            && l.contains(" NÆSTE FRIST ")),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("dt-nord-2  venter samtale  samtale 30.06.2026  145d")),
        "{status}"
    );
    assert!(status.contains("8 enheder · "), "{status}");

    // The status as a workbook and as CSV, with the filter kept.
    let text = ok(&hjul(
        &dir,
        &[
            "status",
            "--area",
            "daycare",
            "--format",
            "xlsx",
            "--output",
            "status.xlsx",
        ],
    ));
    assert!(text.contains("wrote status.xlsx (8 units)"), "{text}");
    let bytes = std::fs::read(dir.join("status.xlsx")).unwrap();
    assert!(bytes.starts_with(b"PK"), "a workbook is a zip archive");
    let csv = ok(&hjul(
        &dir,
        &["status", "--area", "daycare", "--format", "csv"],
    ));
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header.trim_start_matches('\u{feff}'),
        "Enhed;Id;Niveau;Område;Trin;Næste frist;Senest;Dage over;Ansvarlig;Ansvarligs adresse;Aftale;Score (%)"
    );
    assert_eq!(csv.lines().count(), 9);
    let err = failed(&hjul(&dir, &["status", "--format", "xlsx"]));
    assert!(err.contains("give --output"), "{err}");
}

/// The secretariat brings in a year of data from Excel (semicolons, decimal commas),
/// looks at a school, and sends a file that is wrong: told where, nothing written.
#[test]
fn the_secretariat_imports_data_and_reads_a_units_sheet() {
    let dir = scratch("data");
    let ex = examples();
    ok(&hjul(&dir, &["migrate"]));
    ok(&hjul(
        &dir,
        &[
            "org",
            "import",
            ex.join("organisation.csv").to_str().unwrap(),
        ],
    ));
    let text = ok(&hjul(
        &dir,
        &["data", "import", ex.join("data.csv").to_str().unwrap()],
    ));
    assert!(text.contains("84 values (84 new, 0 replacing"), "{text}");
    let sheet = ok(&hjul(&dir, &["data", "show", "sk-by", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&sheet).unwrap();
    assert_eq!(v["unit_id"], "sk-by");
    let wellbeing = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "academic_wellbeing")
        .unwrap();
    // Its 2024/25 value rests on 4 respondents: null, with no count, and no verdict.
    let last = wellbeing["series"].as_array().unwrap().last().unwrap();
    assert_eq!(last["period"], "2024/25");
    assert!(last["value"].is_null() && last.get("n").is_none(), "{last}");
    assert_eq!(wellbeing["verdict"], "insufficient");
    let table = ok(&hjul(&dir, &["data", "show", "sk-by"]));
    assert!(table.contains("(too few)"), "{table}");
    // The threshold is the municipality's setting: at 400 respondents the school's
    // absence (379 in 2024/25) is hidden too, and the table says the number in force.
    let strict = ok(&common::hjul_with(
        &dir,
        &["data", "show", "sk-by", "--format", "json"],
        &[
            ("HJUL_TODAY", "2026-11-22"),
            ("HJUL__DATA__MIN_RESPONSES", "400"),
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&strict).unwrap();
    let absence = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "absence")
        .unwrap();
    assert!(absence["latest"].is_null(), "{absence}");
    assert!(!strict.contains("9.5"), "{strict}");
    let strict = ok(&common::hjul_with(
        &dir,
        &["data", "show", "sk-by"],
        &[
            ("HJUL_TODAY", "2026-11-22"),
            ("HJUL__DATA__MIN_RESPONSES", "400"),
        ],
    ));
    assert!(strict.contains("fewer than 400 respondents"), "{strict}");
    // The pre-analysis of cycle 2025 reads the periods ended before it began.
    let json = ok(&hjul(
        &dir,
        &["data", "patterns", "--cycle", "2025", "--format", "json"],
    ));
    let p: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(p["data_before"], "2025-10-01");
    let school_wellbeing = p["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["measure"] == "academic_wellbeing" && x["area"] == "school")
        .unwrap();
    // Three schools; Byskolen's value rests on 4 respondents and counts in nothing.
    assert_eq!(school_wellbeing["period"], "2024/25");
    assert_eq!(school_wellbeing["units"], 2, "{school_wellbeing}");
    assert_eq!(school_wellbeing["insufficient"], 1, "{school_wellbeing}");
    // The data collection for cycle 2025: Østre Skole has no 2024/25 value for the
    // council's goal (its last is 2023/24), so one of three schools is missing.
    let gaps = ok(&hjul(
        &dir,
        &["data", "gaps", "--cycle", "2025", "--format", "json"],
    ));
    let g: serde_json::Value = serde_json::from_str(&gaps).unwrap();
    let maths = g["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["measure"] == "passed_danish_maths")
        .unwrap();
    assert_eq!(
        (&maths["period"], &maths["missing"], &maths["units"]),
        (
            &serde_json::json!("2024/25"),
            &serde_json::json!(1),
            &serde_json::json!(3)
        ),
        "{gaps}"
    );
    let table = ok(&hjul(&dir, &["data", "gaps", "--cycle", "2025"]));
    assert!(table.contains("passed_danish_maths"), "{table}");
    let measures = ok(&hjul(&dir, &["data", "measures"]));
    assert!(
        measures.contains("sick_leave") && measures.contains("budget_deviation"),
        "{measures}"
    );

    let bad = dir.join("forkert.csv");
    std::fs::write(
        &bad,
        "unit_id;measure;period;value\r\nsk-by;absence;2024-25;6,1\r\nsk-by;fravær;2024/25;6,1\r\n",
    )
    .unwrap();
    let err = failed(&hjul(&dir, &["data", "import", bad.to_str().unwrap()]));
    assert!(err.contains("forkert.csv was not imported"), "{err}");
    assert!(
        err.contains("line 2, period: `2024-25` is not a period"),
        "{err}"
    );
    assert!(
        err.contains("line 3, measure: `fravær` is not a measure"),
        "{err}"
    );
    // A file past what hjul reads is refused before it is read, saying what to do.
    let huge = dir.join("stor.csv");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(hjul_wheel::limits::MAX_READ_BYTES + 1)
        .unwrap();
    let err = failed(&hjul(&dir, &["data", "import", huge.to_str().unwrap()]));
    assert!(
        err.contains("is 129 MB; hjul reads files of at most 128 MB: split it"),
        "{err}"
    );
    let again = ok(&hjul(&dir, &["data", "show", "sk-by", "--format", "json"]));
    assert_eq!(again, sheet, "a refused file changes nothing");
}

/// A new leader in the organisation file: `--preview` says what would change and who
/// takes over, and writes nothing; the import then does just that.
#[test]
fn an_import_is_previewed_before_a_unit_changes_hands() {
    let dir = scratch("handover");
    ok(&hjul(&dir, &["migrate"]));
    let org = examples().join("organisation.csv");
    ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()]));
    let eva = std::fs::read_to_string(&org).unwrap().replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Eva Lund,eva.lund@skovby.dk",
    );
    std::fs::write(dir.join("new.csv"), eva).unwrap();
    let preview = ok(&hjul(&dir, &["org", "import", "new.csv", "--preview"]));
    assert!(
        preview
            .contains("importing would change new.csv: 16 units (0 new, 1 changed, 15 unchanged"),
        "{preview}"
    );
    assert!(
        preview.contains(
            "new leader of dt-nord-1 (Børnehuset Mariehønen): eva.lund@skovby.dk (was bo.nielsen@skovby.dk)"
        ),
        "{preview}"
    );
    assert!(preview.contains("nothing was written"), "{preview}");
    // Nothing was: the import finds the same change to make.
    let text = ok(&hjul(&dir, &["org", "import", "new.csv"]));
    assert!(
        text.contains("imported new.csv: 16 units (0 new, 1 changed, 15 unchanged"),
        "{text}"
    );
    assert!(text.contains("new leader of dt-nord-1"), "{text}");
    assert!(!text.contains("nothing was written"), "{text}");
}

/// The command line's reads are in the log of reads, and `privacy retention` counts
/// what is past its time (nothing, on a new database) without deleting.
#[test]
fn reads_at_the_command_line_are_logged_and_retention_is_counted() {
    let dir = scratch("privacy");
    ok(&hjul(&dir, &["migrate"]));
    let org = examples().join("organisation.csv");
    ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()]));
    ok(&hjul(&dir, &["unit", "show", "dt-nord-1"]));
    let reads = ok(&hjul(&dir, &["privacy", "reads", "--unit", "dt-nord-1"]));
    assert!(
        reads.contains("  unit  dt-nord-1  bo.nielsen@skovby.dk"),
        "{reads}"
    );
    let due = ok(&hjul(&dir, &["privacy", "retention"]));
    assert!(due.starts_with("past their time:"), "{due}");
    assert!(
        due.contains("0  reads (the read log) (kept 730 days)"),
        "{due}"
    );
    assert!(
        !due.contains("nothing was deleted"),
        "nothing is due: {due}"
    );
    // An access request's export, as a page the person can read, and as JSON.
    let wrote = ok(&hjul(
        &dir,
        &[
            "privacy",
            "export",
            "--email",
            "bo.nielsen@skovby.dk",
            "--output",
            "bo.html",
        ],
    ));
    assert!(wrote.starts_with("wrote bo.html: 1 units"), "{wrote}");
    let page = std::fs::read_to_string(dir.join("bo.html")).unwrap();
    assert!(page.contains("Indsigt: det, hjul har om dig"), "{page}");
    assert!(page.contains("Børnehuset Mariehønen (dt-nord-1)"), "{page}");
    assert!(page.contains("Enhedens side"), "the read above: {page}");
    let json = ok(&hjul(
        &dir,
        &["privacy", "export", "--email", "bo.nielsen@skovby.dk"],
    ));
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(data["name"], "Bo Nielsen");
    // Bo cannot be anonymised while he leads his house; once the file gives it a new
    // leader, the preview says what would change, and --apply does it.
    let err = failed(&hjul(
        &dir,
        &["privacy", "anonymise", "--email", "bo.nielsen@skovby.dk"],
    ));
    assert!(
        err.contains("still leads Børnehuset Mariehønen (dt-nord-1)"),
        "{err}"
    );
    let csv = std::fs::read_to_string(&org).unwrap().replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Lis Dam,lis.dam@skovby.dk",
    );
    std::fs::write(dir.join("org.csv"), csv).unwrap();
    ok(&hjul(&dir, &["org", "import", "org.csv"]));
    let preview = ok(&hjul(
        &dir,
        &["privacy", "anonymise", "--email", "bo.nielsen@skovby.dk"],
    ));
    assert!(
        preview.contains("Bo Nielsen <bo.nielsen@skovby.dk> has led no unit since "),
        "{preview}"
    );
    assert!(
        preview.contains("would be named \"Tidligere leder\""),
        "{preview}"
    );
    assert!(preview.contains("nothing was changed"), "{preview}");
    let done = ok(&hjul(
        &dir,
        &[
            "privacy",
            "anonymise",
            "--email",
            "bo.nielsen@skovby.dk",
            "--apply",
        ],
    ));
    assert!(done.contains("now named \"Tidligere leder\""), "{done}");
    let json = ok(&hjul(
        &dir,
        &["privacy", "export", "--email", "bo.nielsen@skovby.dk"],
    ));
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(data["name"].is_null(), "{data:#}");
    assert_eq!(data["their_actions"].as_array().map(Vec::len), Some(0));
    let unit = ok(&hjul(&dir, &["unit", "show", "dt-nord-1"]));
    assert!(unit.contains("Lis Dam"), "{unit}");
}

/// `--as EMAIL` acts as that person, with what the organisation gives them and no more:
/// the same rules as their token in the dashboard and the API, asked of the same core.
/// The audit log names both the operator and the person.
#[test]
fn a_person_acts_with_as_and_may_do_what_their_units_give_them() {
    let dir = scratch("as");
    ok(&hjul(&dir, &["migrate"]));
    let org = examples().join("organisation.csv");
    ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()]));
    let themes = examples().join("themes.txt");
    ok(&hjul(
        &dir,
        &[
            "milestone",
            "themes-published",
            "--cycle",
            "2025",
            "--on",
            "2026-03-20",
            "--themes",
            themes.to_str().unwrap(),
        ],
    ));
    let hanne = ["--as", "hanne.bak@skovby.dk"];
    let susanne = ["--as", "susanne.kjaer@skovby.dk"];
    let with = |who: &[&str], rest: &[&str]| {
        let mut args: Vec<&str> = who.to_vec();
        args.extend_from_slice(rest);
        hjul(&dir, &args)
    };
    // Hanne leads Vestre Skole: she may record its dialogue, not Østre Skole's, which
    // she cannot even see.
    ok(&with(
        &hanne,
        &["dialogue", "held", "sk-vest", "--on", "2026-03-04"],
    ));
    let err = failed(&with(
        &hanne,
        &["dialogue", "held", "sk-oest", "--on", "2026-03-04"],
    ));
    assert!(
        err.contains("there is no unit `sk-oest` you can see"),
        "{err}"
    );
    let agreement = examples().join("agreement.toml");
    ok(&hjul(
        &dir,
        &[
            "agreement",
            "submit",
            "sk-vest",
            "--file",
            agreement.to_str().unwrap(),
            "--on",
            "2026-04-10",
        ],
    ));
    // Nobody signs their own agreement: her superior does.
    let err = failed(&with(
        &hanne,
        &["agreement", "sign", "sk-vest", "--on", "2026-04-16"],
    ));
    assert!(err.contains("the superior"), "{err}");
    let text = ok(&with(
        &susanne,
        &["agreement", "sign", "sk-vest", "--on", "2026-04-16"],
    ));
    assert!(text.contains("signed in cycle 2025: revision 1"), "{text}");
    // Someone the organisation does not know as a leader cannot be acted as.
    let err = failed(&with(
        &["--as", "nobody@skovby.dk"],
        &["dialogue", "held", "sk-by", "--on", "2026-03-04"],
    ));
    assert!(
        err.contains("cannot act as nobody@skovby.dk") && err.contains("leads no active unit"),
        "{err}"
    );
    // The milestones stay the secretariat's.
    let err = failed(&with(
        &susanne,
        &[
            "milestone",
            "data-collected",
            "--cycle",
            "2025",
            "--on",
            "2025-12-18",
        ],
    ));
    assert!(err.contains("secretariat"), "{err}");
    let shown = ok(&hjul(
        &dir,
        &["unit", "show", "sk-vest", "--format", "json"],
    ));
    let unit: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let by: Vec<&str> = unit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["recorded_by"].as_str().unwrap())
        .collect();
    assert!(by.contains(&"test as hanne.bak@skovby.dk"), "{by:?}");
    assert!(by.contains(&"test as susanne.kjaer@skovby.dk"), "{by:?}");
    // Reads answer with what the person sees, as the API's do: her own school in the
    // status, not the others'; no unit page of Østre Skole; not the secretariat's lists.
    let status = ok(&with(
        &hanne,
        &["status", "--at", "2026-04-20", "--format", "json"],
    ));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&status).unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["unit_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sk-vest"], "{status}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&ok(&hjul(
        &dir,
        &["status", "--at", "2026-04-20", "--format", "json"],
    )))
    .unwrap();
    assert!(
        all.len() > 10,
        "the secretariat sees every unit: {}",
        all.len()
    );
    let err = failed(&with(&hanne, &["unit", "show", "sk-oest"]));
    assert!(
        err.contains("there is no unit `sk-oest` you can see"),
        "{err}"
    );
    for list in [&["outbox"][..], &["token", "list"], &["doctor"]] {
        let err = failed(&with(&hanne, list));
        assert!(err.contains("for the secretariat"), "{list:?}: {err}");
    }
    // Hanne names Per her deputy from today (22 November 2026) until Friday: he then
    // acts for Vestre Skole (and his record says for whom); Østre Skole stays hidden
    // to him, and he names no deputies himself. Hanne ends him; he acts for no one.
    let out = ok(&with(
        &hanne,
        &[
            "deputy",
            "add",
            "sk-vest",
            "--email",
            "per.holm@skovby.dk",
            "--name",
            "Per Holm",
            "--to",
            "2026-11-27",
        ],
    ));
    assert!(
        out.starts_with("Per Holm (per.holm@skovby.dk) stands in for the leader of sk-vest from 2026-11-22 to 2026-11-27; id "),
        "{out}"
    );
    let id = out.trim().rsplit(' ').next().unwrap().to_owned();
    let list = ok(&hjul(&dir, &["deputy", "list", "sk-vest"]));
    assert!(
        list.contains("Per Holm <per.holm@skovby.dk>  from 2026-11-22 to 2026-11-27 (in force)"),
        "{list}"
    );
    let per = ["--as", "per.holm@skovby.dk"];
    let shown = ok(&with(&per, &["unit", "show", "sk-vest"]));
    assert!(shown.contains("Vestre Skole"), "{shown}");
    let err = failed(&with(&per, &["unit", "show", "sk-oest"]));
    assert!(
        err.contains("there is no unit `sk-oest` you can see"),
        "{err}"
    );
    let err = failed(&with(
        &per,
        &[
            "deputy",
            "add",
            "sk-vest",
            "--email",
            "x@skovby.dk",
            "--name",
            "X",
        ],
    ));
    assert!(err.contains("no deputy was named for sk-vest"), "{err}");
    let out = ok(&with(&hanne, &["deputy", "end", "sk-vest", &id]));
    assert!(
        out.contains("Per Holm no longer stands in for the leader of sk-vest"),
        "{out}"
    );
    let err = failed(&with(&per, &["unit", "show", "sk-vest"]));
    assert!(err.contains("cannot act as per.holm@skovby.dk"), "{err}");
    assert!(ok(&hjul(&dir, &["deputy", "list", "sk-vest"])).contains("sk-vest has no deputy"));
}

#[test]
fn the_demo_is_backed_up_and_put_back_through_the_command_line() {
    let dir = scratch("backup");
    ok(&hjul(&dir, &["demo", "--no-serve"]));
    let demo = ["--database-url", "hjul-demo.db"];
    let wrote = ok(&hjul(
        &dir,
        &[&["backup", "--output", "kopi.db"][..], &demo[..]].concat(),
    ));
    assert!(
        wrote.starts_with("wrote kopi.db (") && wrote.contains("schema m20261223_000028_sent_mail"),
        "{wrote}"
    );
    assert!(
        wrote
            .lines()
            .any(|l| l.trim_start().starts_with("unit ") && l.ends_with(" 16 rows")),
        "{wrote}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kopi.db.manifest.json")).unwrap())
            .unwrap();
    // The manifest's hash is the file's, as a tool nobody here wrote computes it.
    let sum = std::process::Command::new("sha256sum")
        .arg("kopi.db")
        .current_dir(&dir)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    assert_eq!(
        sum.split_whitespace().next(),
        manifest["sha256"].as_str(),
        "{sum}"
    );
    // A copy is never written over.
    let again = failed(&hjul(
        &dir,
        &[&["backup", "--output", "kopi.db"][..], &demo[..]].concat(),
    ));
    assert!(again.contains("kopi.db exists"), "{again}");

    // Put back as another database: checked, and doctor's question answered.
    let put = ok(&hjul(
        &dir,
        &["restore", "kopi.db", "--database-url", "restored.db"],
    ));
    assert!(
        put.contains("restored kopi.db to restored.db (schema m20261223_000028_sent_mail)")
            && put.contains("hjul doctor finds nothing"),
        "{put}"
    );
    ok(&hjul(&dir, &["doctor", "--database-url", "restored.db"]));
    // A manifest that does not fit the copy: refused, nothing changed.
    let mut bad = manifest.clone();
    bad["sha256"] = serde_json::json!("0".repeat(64));
    std::fs::write(dir.join("bad.json"), bad.to_string()).unwrap();
    let refused = failed(&hjul(
        &dir,
        &[
            "restore",
            "kopi.db",
            "--manifest",
            "bad.json",
            "--database-url",
            "other.db",
        ],
    ));
    assert!(refused.contains("damaged"), "{refused}");
    assert!(!dir.join("other.db").exists());
    // While a service runs on the database (it holds the lock `hjul serve` takes):
    // refused with the process, and the database is left as it was.
    let lock = std::fs::File::create(dir.join("restored.db.serve-lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(dir.join("restored.db.serve-lock"), "4242").unwrap();
    let before = std::fs::read(dir.join("restored.db")).unwrap();
    let busy = failed(&hjul(
        &dir,
        &["restore", "kopi.db", "--database-url", "restored.db"],
    ));
    assert!(
        busy.contains("already runs") && busy.contains("4242"),
        "{busy}"
    );
    assert_eq!(std::fs::read(dir.join("restored.db")).unwrap(), before);
    drop(lock);
}

/// On PostgreSQL, `hjul backup` writes nothing and says how to copy with `pg_dump`; the
/// commands it prints, pasted into a shell as an operator would, make a copy, and put it
/// back into a new, empty database; there `hjul migrate` has nothing to do, `hjul doctor`
/// finds nothing, and every table holds what the original held.
#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "HJUL_TEST_PG_URL is not set: PostgreSQL story skipped"
)]
fn a_postgresql_database_goes_through_pg_dump_and_back_as_hjul_says() {
    use hjul_store::Location;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let original = rt.block_on(hjul_tests::TestDb::postgres("pg_dump_original"));
    let restored = rt.block_on(hjul_tests::TestDb::postgres("pg_dump_restored"));
    let counts = rt.block_on(async {
        let store = hjul_tests::skovby_with_themes(&original, "2026-03-20").await;
        let counts = hjul_tests::counts(&store).await;
        store.close().await.unwrap();
        counts
    });
    let (Location::Postgres(from), Location::Postgres(to)) =
        (&original.location, &restored.location)
    else {
        unreachable!()
    };
    let dir = scratch("pg-dump");
    let said = failed(&hjul(
        &dir,
        &["backup", "--output", "kopi.db", "--database-url", from],
    ));
    assert!(!dir.join("kopi.db").exists(), "nothing is written: {said}");
    // The two commands as printed, run by a shell with the URL in the variable they name.
    let shell = |command: &str, url: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(&dir)
            .env("HJUL_DATABASE_URL", url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dump = said
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pg_dump "))
        .unwrap_or_else(|| panic!("no pg_dump command in: {said}"));
    shell(dump, from);
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("hjul-") && n.ends_with(".dump"))
        .unwrap_or_else(|| panic!("`{dump}` wrote no hjul-DATE.dump"));
    let restore = said
        .split("put it back with ")
        .nth(1)
        .and_then(|rest| rest.split(", then").next())
        .unwrap_or_else(|| panic!("no pg_restore command in: {said}"))
        .replace("FILE", &file);
    shell(&restore, to);

    let migrated = ok(&hjul(&dir, &["migrate", "--database-url", to]));
    assert!(
        migrated.contains("is up to date"),
        "nothing to migrate: {migrated}"
    );
    ok(&hjul(&dir, &["doctor", "--database-url", to]));
    let copied = rt.block_on(async {
        let store = restored.store().await;
        let copied = hjul_tests::counts(&store).await;
        store.close().await.unwrap();
        copied
    });
    assert_eq!(copied, counts);
    assert!(
        counts.iter().any(|(t, n)| t == "unit" && *n == 16),
        "{counts:?}"
    );
}
