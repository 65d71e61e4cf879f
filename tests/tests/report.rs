//! The quality report on SQLite and PostgreSQL, read as its reader would: every section
//! with the cycle's own numbers and themes, a value from too few respondents nowhere, a
//! manager's report about their own units only; and the PDF read back with poppler, the
//! same bytes each time it is made from the same records.
#![allow(clippy::unwrap_used)]

use hjul_report::{Format, Report, Request, Scope, Templates};
use hjul_store::Store;
use hjul_tests::{AGREEMENT, GRADES, ORGANISATION, TestDb, date, stamp, stories, unit_of};
use hjul_wheel::{Deadline, Language, Organisation};

stories!(
    the_department_report_holds_each_section_and_no_hidden_value,
    a_managers_report_covers_only_their_subtree,
    the_final_report_is_kept_with_its_milestone_and_never_changes,
    a_units_data_sheet_is_made_for_its_dialogue,
    a_departed_leader_is_anonymised_and_the_report_and_history_read_as_before,
    the_archive_holds_the_cycles_records_and_its_manifest_matches_them,
);

const DATA: &str = include_str!("../../examples/data.csv");

/// Mariehønen's notes, marked for the report: with what Markdown would read as a
/// heading, a table and a link, which must stay text.
const QUOTED: &str = "Sproget løfter sig: 5. gruppe læser dagligt.\n## Ikke en overskrift | ej heller en celle |\n[link](http://x)";

/// Skovby in August 2027: its figures, the three milestones, two houses and a school
/// through their dialogue and agreement, and Mariehønen's midway status.
async fn skovby(db: &TestDb) -> Store {
    let store = db.store().await;
    let s = stamp("2027-08-20");
    let org = Organisation::from_csv(ORGANISATION, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await
        .unwrap();
    let areas = store.unit_areas().await.unwrap();
    let rows = hjul_wheel::data::read_measurements(
        DATA,
        &store.wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .unwrap();
    store
        .import_measurements("data.csv", &rows, &s, |_, _| {})
        .await
        .unwrap();
    for (milestone, on, themes) in [
        (Deadline::DataCollected, "2025-12-18", None),
        (
            Deadline::ThemesPublished,
            "2026-03-20",
            Some(vec![
                "Sprog og læsning".to_owned(),
                "Fravær og trivsel".to_owned(),
            ]),
        ),
    ] {
        store
            .record_milestone(2025, milestone, date(on), themes, &s)
            .await
            .unwrap();
    }
    for (unit, held, submitted, signed) in [
        ("dt-nord-1", "2026-03-14", "2026-04-01", "2026-04-20"),
        ("dt-nord-2", "2026-04-02", "2026-04-20", "2026-04-28"),
        ("sk-by", "2026-03-04", "2026-04-10", "2026-04-16"),
    ] {
        // Mariehønen's leader lets the notes be quoted, Solsikken's does not; the
        // school's dialogue has none.
        let (notes, for_report) = match unit {
            "dt-nord-1" => (Some(QUOTED.to_owned()), true),
            "dt-nord-2" => (Some("Personalesagen drøftet fortroligt.".to_owned()), false),
            _ => (None, false),
        };
        store
            .record_dialogue_with(&unit_of(unit), date(held), notes, for_report, &s)
            .await
            .unwrap();
        store
            .submit_agreement(&unit_of(unit), date(submitted), AGREEMENT, "a.toml", &s)
            .await
            .unwrap();
        store
            .sign_agreement(&unit_of(unit), date(signed), &s)
            .await
            .unwrap();
    }
    store
        .record_dialogue(&unit_of("dt-syd-1"), date("2026-05-05"), None, &s)
        .await
        .unwrap();
    // The final report is kept with its milestone, as the dashboard, the API and the
    // command line record it.
    let kept = hjul_tests::record_final(&store, 2025, date("2026-09-24"), &s)
        .await
        .unwrap();
    assert!(
        matches!(&kept, Some(hjul_app::FinalReport::Kept(h)) if h.len() == 64),
        "{kept:?}"
    );
    store
        .give_midway(
            &unit_of("dt-nord-1"),
            date("2027-08-17"),
            GRADES,
            "grades.toml",
            &s,
        )
        .await
        .unwrap();
    store
}

async fn report(store: &Store, scope: Scope, language: Language) -> Report {
    hjul_report::build(
        store,
        &Request {
            cycle: 2025,
            scope,
            language,
            today: date("2027-08-20"),
            fin: None,
        },
    )
    .await
    .unwrap()
}

fn text(report: &Report, format: Format) -> String {
    String::from_utf8(
        Templates::load(None)
            .unwrap()
            .render(report, format)
            .unwrap(),
    )
    .unwrap()
}

async fn the_department_report_holds_each_section_and_no_hidden_value(db: TestDb) {
    let store = skovby(&db).await;
    let r = report(&store, Scope::Department, Language::Da).await;
    let md = text(&r, Format::Markdown);
    for line in [
        "# Kvalitetsrapport 2025–2027",
        "**Udkast**, lavet 20.08.2027.",
        "## 1. Cyklussen og dens faser",
        "| Kvalitetsrapport endelig | 30.09.2026 | 24.09.2026 |",
        "## 2. Foranalysen: mønstre i data",
        // examples/data.csv: the five houses' absence in 2024/25.
        "| Dagtilbud | 2024/25 | 5 | 5,5 % | 1,4 % | 1 | 1 | 3 | 0 |",
        "| Skole | 2024/25 | 2 | 91,5 % | 0,8 % | 1 | 0 | 0 | 2 | 1 af 2 |",
        "## 3. Fokustemaer",
        "1. Sprog og læsning\n2. Fravær og trivsel",
        "## 4. Kvalitetssamtalerne",
        // Twelve units at levels 3–4 hold a dialogue; four did.
        "4 af 12 kvalitetssamtaler er holdt, fra 04.03.2026 til 05.05.2026.",
        // Only the notes marked for the report, quoted with who and when.
        "### Fra samtalerne",
        "**Børnehuset Mariehønen**, 14.03.2026:",
        "## 5. Sammenhængsaftalerne",
        // Fifteen units make an agreement (levels 2–4); three are signed, three goals each.
        "3 af 15 aftaler er underskrevet, med 9 mål i alt.",
        "| Kvalitet | 3 | 40,0 % |",
        "## 6. Midtvejsstatus",
        "Midtvejsstatus er givet for 1 af 3 aftaler. Den gennemsnitlige score er 50,0 %.",
        "## 7. Bilag: enhederne",
        "### Børnehuset Mariehønen (dt-nord-1)",
        "| Flere børn i positiv sproglig udvikling | Kvalitet | Fælles mål | 40 % | Flere er i positiv sproglig udvikling | Delvist opfyldt |",
        // sk-by's wellbeing in 2024/25 rests on four answers: never shown.
        "| Den faglige trivsel styrkes | 2024/25 | for få besvarelser |",
    ] {
        assert!(md.contains(line), "{line:?} in\n{md}");
    }
    assert!(
        !md.contains("3,57"),
        "a hidden value is in the report:\n{md}"
    );
    assert!(
        !md.contains("Personalesagen"),
        "notes not marked are in:\n{md}"
    );
    assert_eq!(r.dialogues.notes.len(), 1, "{:?}", r.dialogues.notes);
    // No ranking: the appendix goes in the organisation's order (its tree from the
    // top: each unit before those under it), whatever the scores.
    let order: Vec<&str> = r.units.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(
        &order[..5],
        ["bu", "dt", "dt-nord", "dt-nord-1", "dt-nord-2"],
        "{order:?}"
    );
    let html = text(&r, Format::Html);
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"da\">"),
        "{html}"
    );
    assert!(
        html.contains("<title>Kvalitetsrapport 2025–2027</title>"),
        "{html}"
    );
    assert!(html.contains("<li>Sprog og læsning</li>"), "{html}");
    // The quoted notes are one quotation of three lines of text: no heading, table or
    // link of their own.
    assert!(
        html.contains(
            "<blockquote>\n<p>Sproget løfter sig: 5. gruppe læser dagligt.<br />\n## Ikke en overskrift | ej heller en celle |<br />\n[link](http://x)</p>\n</blockquote>"
        ),
        "{html}"
    );
    assert!(!html.contains("Personalesagen"));
    assert!(html.contains("<td>for få besvarelser</td>"), "{html}");
    assert!(!html.contains("3,57"));
    // Each measure's pattern is drawn, inline, beside its table: the absence's area
    // averages on their scale, the target as a line, the units' trends counted.
    assert_eq!(
        html.matches("<svg xmlns=\"http://www.w3.org/2000/svg\"")
            .count(),
        r.patterns.len(),
        "{html}"
    );
    assert!(
        html.contains(
            "<title>Fravær reduceres: gennemsnit pr. område og enhedernes udvikling</title>"
        ),
        "{html}"
    );
    for word in ["Enhedernes udvikling", ">5,5 %</text>", ">91,5 %</text>"] {
        assert!(html.contains(word), "{word:?} in\n{html}");
    }
    assert!(!md.contains("3,57") && !html.contains(">3,57"));
    // In English for an English reader.
    let en = text(
        &report(&store, Scope::Department, Language::En).await,
        Format::Markdown,
    );
    assert!(en.contains("4 of 12 quality dialogues are held"), "{en}");
    assert!(
        en.contains("| Academic wellbeing goes up | 2024/25 | too few responses |"),
        "{en}"
    );
    // A dialogue moved to another day keeps its leader's leave to quote it.
    let held = store
        .timeline(&unit_of("dt-nord-1"), date("2027-08-20"), None)
        .await
        .unwrap()
        .events
        .into_iter()
        .find(|e| e.kind == hjul_wheel::EventKind::DialogueHeld)
        .unwrap();
    assert!(held.for_report);
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            held.id,
            hjul_store::Correction::Redate {
                on: date("2026-03-13"),
            },
            "Mødet var fredag",
            &stamp("2027-08-20"),
        )
        .await
        .unwrap();
    let md = text(
        &report(&store, Scope::Department, Language::Da).await,
        Format::Markdown,
    );
    assert!(
        md.contains("**Børnehuset Mariehønen**, 13.03.2026:\n\n> Sproget løfter sig"),
        "{md}"
    );
}

async fn a_managers_report_covers_only_their_subtree(db: TestDb) {
    let store = skovby(&db).await;
    let r = report(&store, Scope::Subtree("dt-nord".into()), Language::Da).await;
    let ids: Vec<&str> = r.units.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(ids, ["dt-nord", "dt-nord-1", "dt-nord-2", "dt-nord-3"]);
    let md = text(&r, Format::Markdown);
    assert!(md.contains("**Dagtilbud Nord**"), "{md}");
    // Anna's area and its three houses hold a dialogue; two did.
    assert!(md.contains("2 af 4 kvalitetssamtaler er holdt"), "{md}");
    assert!(!md.contains("sk-by") && !md.contains("| Skole |"), "{md}");
    // The patterns are over Anna's houses only: three with absence figures.
    assert!(md.contains("| Dagtilbud | 2024/25 | 3 |"), "{md}");
    insta::assert_snapshot!("manager_report_html", text(&r, Format::Html));
}

/// The final report is kept when `report_final` is recorded, with its hash, and stays
/// as it was: a re-import changes the drafts, not it; the milestone cannot be recorded
/// again; the audit log names the hash.
async fn the_final_report_is_kept_with_its_milestone_and_never_changes(db: TestDb) {
    let store = skovby(&db).await;
    let kept = store.final_report(2025).await.unwrap().unwrap();
    assert_eq!(kept.sha256, hjul_store::sha256(&kept.pdf));
    assert!(kept.pdf.starts_with(b"%PDF-"));
    assert!(
        kept.markdown.contains("Endelig rapport, 24.09.2026."),
        "{}",
        kept.markdown
    );
    assert!(
        kept.markdown
            .contains("| Kvalitetsrapport endelig | 30.09.2026 | 24.09.2026 |")
    );
    assert_eq!(
        store.final_report_sha256(2025).await.unwrap().as_deref(),
        Some(kept.sha256.as_str())
    );
    // Mariehønen's absence in 2024/25 is corrected by a new import: the draft follows,
    // the kept report does not.
    let areas = store.unit_areas().await.unwrap();
    let rows = hjul_wheel::data::read_measurements(
        "unit_id,measure,period,value,n\ndt-nord-1,absence,2024/25,9.9,60\n",
        &store.wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .unwrap();
    store
        .import_measurements("fix.csv", &rows, &stamp("2027-08-21"), |_, _| {})
        .await
        .unwrap();
    let draft = text(
        &report(&store, Scope::Department, Language::Da).await,
        Format::Markdown,
    );
    assert!(
        draft.contains("| Fravær reduceres | 2024/25 | 9,9 % |"),
        "{draft}"
    );
    let again =
        hjul_tests::record_final(&store, 2025, date("2026-09-25"), &stamp("2027-08-21")).await;
    assert!(again.is_err(), "report_final recorded twice");
    let still = store.final_report(2025).await.unwrap().unwrap();
    assert_eq!(still.sha256, kept.sha256);
    assert!(still.pdf == kept.pdf && !still.markdown.contains("9,9 %"));
    let audit = store
        .audit_log(Some(("milestone", "2025/report_final")), 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.after.as_deref().is_some_and(|t| t.contains(&kept.sha256))),
        "{audit:?}"
    );
}

/// The data sheet a leader brings to the dialogue: the unit's figures over time beside
/// the area's, the focus themes; a hidden value nowhere.
async fn a_units_data_sheet_is_made_for_its_dialogue(db: TestDb) {
    let store = skovby(&db).await;
    let templates = Templates::load(None).unwrap();
    let sheet = hjul_report::build_sheet(
        &store,
        &unit_of("dt-nord-1"),
        Language::Da,
        date("2027-08-20"),
    )
    .await
    .unwrap();
    let md = String::from_utf8(templates.render_sheet(&sheet, Format::Markdown).unwrap()).unwrap();
    for line in [
        "# Datablad: Børnehuset Mariehønen",
        "Dagtilbud · niveau 4 · cyklus 2025 · lavet 20.08.2027",
        "1. Sprog og læsning",
        "### Fravær reduceres",
        "| 2022/23: 5,6 % · 2023/24: 5,3 % · 2024/25: 4,6 % |",
        "Enheden havde ingen aftale i sidste cyklus i hjul.",
    ] {
        assert!(md.contains(line), "{line:?} in\n{md}");
    }
    let by = hjul_report::build_sheet(&store, &unit_of("sk-by"), Language::Da, date("2027-08-20"))
        .await
        .unwrap();
    let md = String::from_utf8(templates.render_sheet(&by, Format::Markdown).unwrap()).unwrap();
    assert!(md.contains("2024/25: for få besvarelser"), "{md}");
    assert!(!md.contains("3,57"), "{md}");
    // Each measure's trend drawn beside the area's; the hidden value is a gap, in the
    // drawing as in its data.
    let html = String::from_utf8(templates.render_sheet(&by, Format::Html).unwrap()).unwrap();
    assert_eq!(
        html.matches("<svg class=\"trend\"").count(),
        by.measures.len(),
        "{html}"
    );
    assert!(
        html.contains("Den faglige trivsel styrkes: enheden og områdets gennemsnit, periode for periode</title>"),
        "{html}"
    );
    assert!(!md.contains("3.57") && !html.contains("3,57"), "{md}");
    let pdf = templates.render_sheet(&sheet, Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let err = hjul_report::build_sheet(
        &store,
        &unit_of("nowhere"),
        Language::Da,
        date("2027-08-20"),
    )
    .await;
    assert!(matches!(err, Err(hjul_report::ReportError::UnknownUnit(_))));
}

/// The PDF, read back as a reader's PDF viewer would: the sections and numbers in its
/// text, its fonts embedded, its pages, and the same bytes when made again.
#[tokio::test]
#[cfg_attr(
    not(pdf_tools),
    ignore = "poppler-utils is not installed: the PDF test is skipped"
)]
async fn the_pdf_reads_as_the_report_and_is_the_same_every_time() {
    let db = TestDb::sqlite("report-pdf");
    let store = skovby(&db).await;
    let r = report(&store, Scope::Department, Language::Da).await;
    let templates = Templates::load(None).unwrap();
    let pdf = templates.render(&r, Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let again = templates
        .render(
            &report(&store, Scope::Department, Language::Da).await,
            Format::Pdf,
        )
        .unwrap();
    assert!(pdf == again, "the same report made twice differs");
    let dir = std::env::temp_dir().join(format!("hjul-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rapport.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let run = |tool: &str, args: &[&str]| poppler(tool, args, &path);
    let words = run("pdftotext", &["-layout"]);
    for w in [
        "Kvalitetsrapport 2025–2027",
        "Udkast",
        "1. Cyklussen og dens faser",
        "Sprog og læsning",
        "4 af 12 kvalitetssamtaler er holdt",
        "Midtvejsstatus er givet for 1 af 3 aftaler",
        "Børnehuset Mariehønen (dt-nord-1)",
        "for få besvarelser",
        "Sproget løfter sig: 5. gruppe læser dagligt.",
    ] {
        assert!(words.contains(w), "{w:?} in\n{words}");
    }
    assert!(!words.contains("3,57"), "a hidden value is in the PDF");
    // The charts are in it as vector graphics: their words are text, and the PDF
    // holds no picture made of pixels.
    assert!(words.contains("Enhedernes udvikling"), "{words}");
    let images = run("pdfimages", &["-list"]);
    assert_eq!(
        images.lines().count(),
        2,
        "a raster image in the PDF:\n{images}"
    );
    let info = run("pdfinfo", &[]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // A title page, the sections flowing on, and the appendix on its own pages.
    assert!((4..=40).contains(&pages), "{pages} pages\n{info}");
    assert!(info.contains("CreationDate:    Fri Aug 20"), "{info}");
    // Accessible: tagged, in Danish, and claiming PDF/UA-1, which Typst only writes
    // when its own check of the document passes (every chart has its alternative text).
    assert!(info.contains("Tagged:          yes"), "{info}");
    let meta = run("pdfinfo", &["-meta"]);
    assert!(meta.contains("<pdfuaid:part>1</pdfuaid:part>"), "{meta}");
    assert!(
        meta.contains("<dc:language><rdf:Bag><rdf:li>da</rdf:li>"),
        "{meta}"
    );
    assert!(
        meta.contains("Kvalitetsrapport 2025–2027</rdf:li>"),
        "{meta}"
    );
    // The structure a screen reader follows: headings by level, tables whose header
    // cells are column headers, lists, and each chart a figure.
    let tree = run("pdfinfo", &["-struct"]);
    let count = |tag: &str| {
        tree.lines()
            .filter(|l| l.trim_start().starts_with(tag))
            .count()
    };
    assert_eq!(count("H1 "), 1, "{tree}");
    assert!(count("H2 ") >= 8, "{tree}");
    assert!(count("H3 ") >= 3, "{tree}");
    assert!(count("Table ") >= 5 && count("TH ") >= 15, "{tree}");
    assert_eq!(
        tree.matches("/Scope /Column").count(),
        count("TH "),
        "{tree}"
    );
    assert!(count("LI ") >= 7, "{tree}");
    // One chart per measure of the pre-analysis.
    assert_eq!(count("Figure"), r.patterns.len(), "{tree}");
    // Every font is embedded (and subset), so it prints the same anywhere.
    let fonts = run("pdffonts", &[]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        assert!(row.contains(" yes yes yes "), "a font not embedded: {row}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// What a poppler tool (`pdftotext`, `pdfinfo`, …) reads in the PDF at `path`.
fn poppler(tool: &str, args: &[&str], path: &std::path::Path) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .arg(path)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A long report is laid out in parts (here a part every 2 KiB of Markdown instead of
/// 24, so the test's department is long enough) and reads as the report laid out whole:
/// the same words in the same order, the same structure for a screen reader, PDF/UA,
/// each page numbered of the pages in all, and the same bytes every time.
#[tokio::test]
#[cfg_attr(
    not(pdf_tools),
    ignore = "poppler-utils is not installed: the PDF test is skipped"
)]
async fn a_long_report_laid_out_in_parts_reads_as_one() {
    let db = TestDb::sqlite("report-parts");
    let store = skovby(&db).await;
    let r = report(&store, Scope::Department, Language::Da).await;
    let whole = Templates::load(None).unwrap();
    let parts = Templates::load(None).unwrap().with_part_bytes(2048);
    let md = text(&r, Format::Markdown);
    let cut_into = hjul_report::pdf::parts(&md, 2048).len();
    assert!(cut_into >= 3, "{cut_into} parts of {} bytes", md.len());
    let dir = std::env::temp_dir().join(format!("hjul-report-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, t: &Templates| {
        let path = dir.join(name);
        std::fs::write(&path, t.render(&r, Format::Pdf).unwrap()).unwrap();
        path
    };
    let (one, cut) = (write("whole.pdf", &whole), write("parts.pdf", &parts));
    assert!(
        std::fs::read(&cut).unwrap() == parts.render(&r, Format::Pdf).unwrap(),
        "the same report laid out in parts twice differs"
    );
    let pages = |path: &std::path::Path| -> usize {
        poppler("pdfinfo", &[], path)
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // Its pages, each of which must say which of them all it is.
    let numbered = |path: &std::path::Path| -> usize {
        let n = pages(path);
        for k in 1..=n {
            let page = poppler(
                "pdftotext",
                &["-f", &k.to_string(), "-l", &k.to_string()],
                path,
            );
            assert!(
                page.lines()
                    .any(|l| l.replace(' ', "") == format!("{k}/{n}")),
                "page {k} of {}:\n{page}",
                path.display()
            );
        }
        n
    };
    let (n_one, n_cut) = (pages(&one), numbered(&cut));
    // Each part starts a page, so there may be more pages.
    assert!(n_cut >= n_one, "{n_cut} pages in parts, {n_one} whole");
    // The same words in the same order, but for the page numbers.
    let words = |path: &std::path::Path| -> Vec<String> {
        poppler("pdftotext", &[], path)
            .lines()
            .filter(|l| !is_page_number(l.trim()))
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let (w_one, w_cut) = (words(&one), words(&cut));
    assert!(w_one.len() > 500, "{}", w_one.len());
    assert!(w_one == w_cut, "the words differ:\n{w_one:?}\n{w_cut:?}");
    for path in [&one, &cut] {
        let info = poppler("pdfinfo", &[], path);
        assert!(info.contains("Tagged:          yes"), "{info}");
        let meta = poppler("pdfinfo", &["-meta"], path);
        assert!(meta.contains("<pdfuaid:part>1</pdfuaid:part>"), "{meta}");
        assert!(
            meta.contains("Kvalitetsrapport 2025–2027</rdf:li>"),
            "{meta}"
        );
    }
    // The same structure: every heading, table, header cell, list item and chart.
    let structure = |path: &std::path::Path| -> Vec<String> {
        poppler("pdfinfo", &["-struct"], path)
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
            .filter(|t| {
                ["H1", "H2", "H3", "Table", "TH", "TD", "LI", "Figure"].contains(&t.as_str())
            })
            .collect()
    };
    let (s_one, s_cut) = (structure(&one), structure(&cut));
    assert!(
        s_one.iter().filter(|t| *t == "H3").count() >= 3,
        "{s_one:?}"
    );
    assert!(
        s_one == s_cut,
        "the structure differs:\n{s_one:?}\n{s_cut:?}"
    );
    // A frame of the municipality's own from before `pages` gets the report whole, so
    // its own "1 / 1" still counts the pages in all.
    let own = dir.join("own");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(
        own.join("frame.typ"),
        "#set document(title: title, date: date)\n#set page(numbering: \"1 / 1\")\n#body\n",
    )
    .unwrap();
    let theirs = Templates::load(Some(&own)).unwrap().with_part_bytes(2048);
    numbered(&write("own.pdf", &theirs));
    std::fs::remove_dir_all(&dir).ok();
}

/// Whether a line is a page number ("3 / 12", which pdftotext may read as "3/12").
fn is_page_number(line: &str) -> bool {
    let digits = |s: &str| {
        let s = s.trim();
        !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
    };
    line.split_once('/')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// What a leader or the secretariat types is text in every format: a goal's title that is
/// a link and a remote image, themes that would nest quotations and lists past what the
/// layout can nest, open a chart block, or hold HTML. The report and the data sheet are
/// written whatever they hold, show them literally, and link or show nothing the template
/// did not put there.
#[tokio::test]
async fn text_from_the_record_is_text_in_the_markdown_the_html_and_the_pdf() {
    let db = TestDb::sqlite("report-hostile");
    let store = db.store().await;
    let s = stamp("2026-05-01");
    let org = Organisation::from_csv(ORGANISATION, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await
        .unwrap();
    let title = "[Klik her](javascript:alert(1)) ![b](http://127.0.0.1:9/b.png)";
    let themes = vec![
        format!("{}citat", "> ".repeat(16)),
        format!("{}liste", "- ".repeat(16)),
        "```chart".to_owned(),
        "1. <b>fed</b> &amp; *skrå* | celle".to_owned(),
    ];
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(themes.clone()),
            &s,
        )
        .await
        .unwrap();
    let sk = unit_of("sk-by");
    store
        .record_dialogue(&sk, date("2026-03-04"), None, &s)
        .await
        .unwrap();
    let agreement = AGREEMENT.replace(
        "\"Flere børn i positiv sproglig udvikling\"",
        &format!("{title:?}"),
    );
    assert_ne!(agreement, AGREEMENT);
    store
        .submit_agreement(&sk, date("2026-04-10"), &agreement, "a.toml", &s)
        .await
        .unwrap();
    store
        .sign_agreement(&sk, date("2026-04-16"), &s)
        .await
        .unwrap();
    let r = hjul_report::build(
        &store,
        &Request {
            cycle: 2025,
            scope: Scope::Department,
            language: Language::Da,
            today: date("2026-05-01"),
            fin: None,
        },
    )
    .await
    .unwrap();
    let templates = Templates::load(None).unwrap();
    let html = text(&r, Format::Html);
    let body = &html[html.find("<body").unwrap()..];
    for markup in [
        "<a ",
        "<img",
        "<blockquote",
        "<ul",
        "<b>",
        "<code",
        "<pre",
        "<em",
    ] {
        assert!(!body.contains(markup), "{markup} in the HTML:\n{body}");
    }
    // Literally, as typed (the HTML escapes only its own three characters).
    assert!(body.contains(title), "{body}");
    assert!(body.contains("citat") && body.contains("liste"), "{body}");
    assert!(body.contains("```chart"), "{body}");
    assert!(
        body.contains("1. &lt;b&gt;fed&lt;/b&gt; &amp;amp; *skrå* | celle"),
        "{body}"
    );
    // The Markdown holds it escaped: a Markdown reader shows the words, not a link.
    let md = text(&r, Format::Markdown);
    assert!(
        md.contains(r"\[Klik her\](javascript:alert(1)) \!\[b\](http://127.0.0.1:9/b.png)"),
        "{md}"
    );
    // The PDF is written, and so is the school's data sheet with the themes on it.
    let pdf = templates.render(&r, Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let sheet = hjul_report::build_sheet(&store, &sk, Language::Da, date("2026-05-01"))
        .await
        .unwrap();
    for format in [Format::Pdf, Format::Html, Format::Markdown] {
        templates.render_sheet(&sheet, format).unwrap();
    }
    #[cfg(pdf_tools)]
    {
        let path = std::env::temp_dir().join(format!("hjul-hostile-{}.pdf", std::process::id()));
        std::fs::write(&path, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        std::fs::remove_file(&path).ok();
        let words = String::from_utf8(out.stdout).unwrap();
        for w in [
            "[Klik her](javascript:alert(1))",
            "```chart",
            "<b>fed</b>",
            "citat",
        ] {
            assert!(words.contains(w), "{w:?} in\n{words}");
        }
    }
}

/// A final report that cannot be laid out stops nothing: `report_final` is on record all
/// the same, the answer names the text that did it, the chiefs' agreements go ahead,
/// and once the text is corrected the secretariat makes the report, dated by the
/// milestone; it is made once, and never replaced.
#[tokio::test]
async fn a_final_report_that_cannot_be_laid_out_stops_nothing() {
    let db = TestDb::sqlite("report-unfit");
    let store = hjul_tests::with_themes(&db, ORGANISATION, "2026-04-01").await;
    let s = stamp("2026-10-10");
    let chief = unit_of("dt");
    // Until report_final, the chief's agreement waits for the report.
    let waits = store
        .submit_agreement(&chief, date("2026-09-20"), AGREEMENT, "a.toml", &s)
        .await;
    let waits = waits.unwrap_err().text().unwrap().render(Language::En);
    assert!(waits.contains("report"), "{waits}");
    // The municipality's changed Markdown template holds text nested deeper than the
    // layout goes.
    let dir = std::env::temp_dir().join(format!("hjul-unfit-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("da")).unwrap();
    std::fs::write(
        dir.join("da/report.md"),
        format!(
            "{}\n\n{}Et citat for dybt\n",
            include_str!("../../config/report/da/report.md"),
            "> ".repeat(80)
        ),
    )
    .unwrap();
    let (core, actor) = hjul_tests::core_with(&store, &s, Templates::load(Some(&dir)).unwrap());
    let outcome = core
        .record_milestone(
            &actor,
            (2025, Deadline::ReportFinal, date("2026-09-24")),
            None,
        )
        .await
        .unwrap();
    let Some(hjul_app::FinalReport::NotMade(why)) = outcome else {
        panic!("{outcome:?}");
    };
    // Named by its words, in the reader's language.
    let told = why.text().unwrap().render(Language::Da);
    assert!(told.contains("»Et citat for dybt«"), "{told}");
    let milestones = store.milestones(2025).await.unwrap();
    assert!(
        milestones
            .iter()
            .any(|m| m.milestone == Deadline::ReportFinal && m.met_on == date("2026-09-24")),
        "{milestones:?}"
    );
    assert!(store.final_report(2025).await.unwrap().is_none());
    let audit = store
        .audit_log(Some(("milestone", "2025/report_final")), 10)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|a| a.action == "refused"
            && a.after.as_deref().is_some_and(
                |t| t.contains("make the final report") && t.contains("Et citat for dybt")
            )),
        "{audit:?}"
    );
    // The chief's agreement goes ahead.
    store
        .submit_agreement(&chief, date("2026-09-30"), AGREEMENT, "a.toml", &s)
        .await
        .unwrap();
    store
        .sign_agreement(&chief, date("2026-10-05"), &s)
        .await
        .unwrap();
    // Asked again with the template unchanged, it is refused with the same words, and
    // nothing is kept.
    let again = core.make_final_report(&actor, 2025).await.unwrap_err();
    assert!(again.to_string().contains("Et citat for dybt"), "{again}");
    assert!(store.final_report(2025).await.unwrap().is_none());
    // Corrected (the built-in template), it is made: the department as of the
    // milestone's day, dated by it.
    let (fixed, actor) = hjul_tests::core(&store, &s);
    let hash = fixed.make_final_report(&actor, 2025).await.unwrap();
    let kept = store.final_report(2025).await.unwrap().unwrap();
    assert_eq!(kept.sha256, hash);
    assert_eq!(kept.made_on, date("2026-09-24"));
    assert!(
        kept.markdown.contains("Endelig rapport, 24.09.2026."),
        "{}",
        kept.markdown
    );
    // Made once: never replaced.
    let twice = fixed.make_final_report(&actor, 2025).await.unwrap_err();
    assert_eq!(
        twice.text().map(|t| t.key),
        Some("report.final_kept"),
        "{twice:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A department too big for a page per unit gets its report without the appendix, and
/// says where the pages are; a chief's part of it still has them.
#[tokio::test]
async fn over_the_limit_the_appendix_is_left_out_and_the_report_says_so() {
    let db = TestDb::sqlite("report-big");
    let store = db.store().await;
    let n = hjul_report::model::APPENDIX_UNITS + 1;
    let org = Organisation::from_csv(&hjul_tests::organisation(n), |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await
        .unwrap();
    store
        .record_milestone(
            2025,
            Deadline::DataCollected,
            date("2025-12-18"),
            None,
            &stamp("2025-12-18"),
        )
        .await
        .unwrap();
    let r = report(&store, Scope::Department, Language::Da).await;
    assert_eq!((r.units.len(), r.appendix_left_out), (0, Some(n)));
    let md = text(&r, Format::Markdown);
    assert!(
        md.contains(&format!(
            "Rapporten dækker {n} enheder. Over 500 enheder\nudelades bilaget"
        )),
        "{md}"
    );
    // Every unit still counts in the figures: the agreements due at levels 2–4.
    assert_eq!(r.agreements.due, n - 1);
    let chief = report(&store, Scope::Subtree("l0".into()), Language::Da).await;
    assert!(chief.appendix_left_out.is_none() && chief.units.len() > 1);
}

/// How many rows of `table` hold `text` in `column`.
async fn holding(store: &Store, table: &str, column: &str, text: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            store.backend(),
            match store.backend() {
                sea_orm::DbBackend::Postgres => {
                    format!("SELECT COUNT(*) AS n FROM {table} WHERE strpos({column}, $1) > 0")
                }
                _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE instr({column}, ?) > 0"),
            },
            [text.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Every column a person's address or name can be in, as a reader checks it.
const PERSONAL: &[(&str, &str)] = &[
    ("person", "email"),
    ("person", "name"),
    ("audit_log", "actor"),
    ("audit_log", "entity_id"),
    ("audit_log", "before"),
    ("audit_log", "after"),
    ("read_log", "actor"),
    ("read_log", "actor_email"),
    ("read_log", "person_email"),
    ("deputy", "email"),
    ("deputy", "name"),
    ("deputy", "named_by"),
    ("api_token", "email"),
    ("session", "email"),
    ("draft", "updated_by"),
    ("unit_event", "recorded_by"),
    ("outbox_item", "to_email"),
    ("outbox_item", "payload"),
    ("sent_mail", "recipient"),
    ("sent_mail", "subject"),
    ("sent_mail", "body"),
];

/// Bo Nielsen led Mariehønen through the cycle: he signed in, named Eva Holm his deputy
/// for a week (who saved a draft for him), and Anna read his house's page. He cannot be
/// anonymised while he leads it; once the organisation file gives the house a new
/// leader, the preview says what would change and changes nothing, and the request
/// replaces his name and address everywhere: nothing holds them after, his token no
/// longer opens, and the report, the kept final report and the house's history read
/// as before. Eva, named by hand, goes by the retention job once her time after her
/// last deputyship has passed. The audit log is as append-only as ever outside it.
async fn a_departed_leader_is_anonymised_and_the_report_and_history_read_as_before(db: TestDb) {
    use chrono::TimeZone;
    use sea_orm::ConnectionTrait;
    let store = skovby(&db).await;
    let at = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap();
    let on = |t: chrono::DateTime<chrono::Utc>, actor: &str| hjul_store::Stamp {
        actor: actor.into(),
        at: t,
        today: t.date_naive(),
    };
    let bo = "bo.nielsen@skovby.dk";
    let (token, _) = store
        .create_token(
            hjul_store::Role::Leader,
            bo,
            None,
            &on(at(2027, 8, 20), "test"),
        )
        .await
        .unwrap();
    assert!(
        store
            .open_session(&token, at(2027, 8, 20))
            .await
            .unwrap()
            .is_some()
    );
    store
        .name_deputy(
            &unit_of("dt-nord-1"),
            &hjul_store::NewDeputy {
                email: hjul_wheel::Email::parse("eva.holm@skovby.dk").unwrap(),
                name: "Eva Holm".into(),
                language: Language::Da,
                period: hjul_wheel::deputy::Period::new(
                    Some(date("2027-08-23")),
                    Some(date("2027-08-27")),
                ),
            },
            &on(at(2027, 8, 20), "api:bo.nielsen@skovby.dk"),
        )
        .await
        .unwrap();
    store
        .save_draft(
            &unit_of("dt-nord-1"),
            hjul_store::DraftKind::Agreement,
            2027,
            "{}",
            &on(
                at(2027, 8, 24),
                "Eva Holm for Bo Nielsen (oidc:eva.holm@skovby.dk)",
            ),
        )
        .await
        .unwrap();
    store
        .write_reads(&[hjul_store::NewRead {
            at: at(2027, 8, 21),
            actor: "api:anna.bech@skovby.dk".into(),
            actor_email: Some("anna.bech@skovby.dk".into()),
            view: "unit",
            unit_id: Some("dt-nord-1".into()),
            person_email: Some(bo.into()),
            terms: None,
        }])
        .await
        .unwrap();
    // A mail he read, kept in words for the queue to show.
    store
        .mark_sent_many(&[hjul_store::SentMark {
            ids: Vec::new(),
            recipient: bo.into(),
            message_id: "<frister-bo@hjul>".into(),
            at: at(2027, 8, 22),
            subject: "Frister for Bo Nielsen".into(),
            text: format!("Kære Bo Nielsen\n\nDenne post går til {bo}."),
        }])
        .await
        .unwrap();
    let report_before = text(
        &report(&store, Scope::Department, Language::Da).await,
        Format::Markdown,
    );
    let kept_before = store.final_report(2025).await.unwrap().unwrap().sha256;
    let events_before = hjul_tests::count(&store, "unit_event").await;

    let err = store
        .anonymise(bo, &on(at(2027, 9, 1), "test"), false)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Børnehuset Mariehønen (dt-nord-1)"),
        "{err}"
    );
    let org = ORGANISATION.replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Lis Dam,lis.dam@skovby.dk",
    );
    assert_ne!(org, ORGANISATION);
    let imported = store
        .import_organisation(
            &Organisation::from_csv(&org, |_| {}).unwrap(),
            &on(at(2027, 9, 1), "test"),
            |_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(imported.people_left, vec![bo.to_owned()]);

    let preview = store
        .anonymise(bo, &on(at(2027, 9, 2), "test"), false)
        .await
        .unwrap();
    assert!(!preview.applied);
    assert_eq!(preview.name.as_deref(), Some("Bo Nielsen"));
    assert_eq!(preview.left_at, Some(at(2027, 9, 1)));
    assert_eq!(preview.rows.person, 1);
    assert_eq!(preview.rows.access, 2, "a token and a sign-in: {preview:?}");
    assert_eq!(preview.rows.read_log, 1);
    assert_eq!(preview.rows.recorded_by, 1, "Eva's draft for him");
    assert!(preview.rows.audit_log >= 4, "{preview:?}");
    assert_eq!(
        holding(&store, "person", "email", bo).await,
        1,
        "nothing changed"
    );
    assert_eq!(holding(&store, "audit_log", "actor", bo).await, 1);

    let done = store
        .anonymise(bo, &on(at(2027, 9, 2), "sekretariat"), true)
        .await
        .unwrap();
    assert!(done.applied);
    assert_eq!(done.rows, preview.rows, "it did what the preview said");
    assert!(done.pseudonym.ends_with("@anonymiseret.invalid"));
    let mail = store
        .sent_words("<frister-bo@hjul>")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.recipient, done.pseudonym);
    assert_eq!(mail.subject, "Frister for Tidligere leder");
    assert!(
        mail.text.starts_with("Kære Tidligere leder") && mail.text.contains(&done.pseudonym),
        "{}",
        mail.text
    );
    for (table, column) in PERSONAL {
        for what in [bo, "Bo Nielsen"] {
            assert_eq!(
                holding(&store, table, column, what).await,
                0,
                "{table}.{column} still holds {what}"
            );
        }
    }
    let gone = store.person_data(bo).await.unwrap();
    assert!(
        gone.name.is_none()
            && gone.their_actions.is_empty()
            && gone.rows_naming_them.is_empty()
            && gone.tokens.is_empty()
            && gone.sessions.is_empty()
            && gone.reads_of_their_data.is_empty(),
        "{gone:#?}"
    );
    let former = store.person_data(&done.pseudonym).await.unwrap();
    assert_eq!(former.name.as_deref(), Some(hjul_store::FORMER_LEADER));
    assert!(
        former
            .their_actions
            .iter()
            .any(|a| a.action == "deputy.name"),
        "{former:#?}"
    );
    assert_eq!(former.reads_of_their_data.len(), 1);
    assert_eq!(
        holding(
            &store,
            "draft",
            "updated_by",
            "Eva Holm for Tidligere leder (oidc:eva.holm@skovby.dk)"
        )
        .await,
        1,
        "the deputy's own name and address stay"
    );
    assert!(
        store
            .open_session(&token, at(2027, 9, 3))
            .await
            .unwrap()
            .is_none()
    );

    let report_after = text(
        &report(&store, Scope::Department, Language::Da).await,
        Format::Markdown,
    );
    assert_eq!(report_after, report_before);
    assert_eq!(
        store.final_report(2025).await.unwrap().unwrap().sha256,
        kept_before
    );
    assert_eq!(hjul_tests::count(&store, "unit_event").await, events_before);
    assert!(store.check_standing().await.unwrap().is_empty());
    let log = store.audit_log(None, 1).await.unwrap();
    assert_eq!(log[0].action, "person.anonymise");
    assert!(
        store
            .connection()
            .execute_unprepared("UPDATE audit_log SET actor = 'x'")
            .await
            .is_err(),
        "outside anonymising the audit log cannot be changed"
    );
    let again = store
        .anonymise(&done.pseudonym, &on(at(2027, 9, 2), "test"), true)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("anonymised already"), "{again}");

    // Eva's week ended on 27 August; thirty days on, the nightly job anonymises her.
    let retention = hjul_store::Retention {
        departed_days: 30,
        ..hjul_store::Retention::default()
    };
    let early = store
        .retention_due(&retention, at(2027, 9, 20), date("2027-09-20"))
        .await
        .unwrap();
    assert_eq!(early.departed, 0);
    let due = store
        .retention_due(&retention, at(2027, 10, 1), date("2027-10-01"))
        .await
        .unwrap();
    assert_eq!(due.departed, 1);
    let gone = store
        .apply_retention(&retention, &on(at(2027, 10, 1), "hjul:retention"))
        .await
        .unwrap();
    assert_eq!(gone.departed, 1);
    for (table, column) in PERSONAL {
        assert_eq!(
            holding(&store, table, column, "eva.holm").await,
            0,
            "{table}.{column}"
        );
        assert_eq!(
            holding(&store, table, column, "Eva Holm").await,
            0,
            "{table}.{column}"
        );
    }
}

/// Cycle 2025 for the archive: every file's hash and size in the manifest are its own,
/// each CSV has a row per record of the cycle (events, agreements, milestones), a note
/// with a line break and quotes stays one field, and the final report is the kept one.
async fn the_archive_holds_the_cycles_records_and_its_manifest_matches_them(db: TestDb) {
    let store = skovby(&db).await;
    let archive = store
        .archive(2025, chrono::Utc::now(), "hjul test")
        .await
        .unwrap();
    let m = &archive.manifest;
    assert_eq!(m.files.len(), archive.files.len());
    for (f, e) in archive.files.iter().zip(&m.files) {
        assert_eq!(e.name, f.name);
        assert_eq!(e.sha256, hjul_store::sha256(&f.bytes), "{}", f.name);
        assert_eq!(e.bytes, f.bytes.len() as u64);
    }
    let rows = |name: &str| m.files.iter().find(|e| e.name == name).unwrap().rows;
    let in_cycle = |table: &str| format!("SELECT COUNT(*) AS n FROM {table} WHERE cycle = 2025");
    for (file, table) in [
        ("events.csv", "unit_event"),
        ("agreements.csv", "agreement"),
        ("milestones.csv", "milestone"),
    ] {
        use sea_orm::ConnectionTrait;
        let n = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                store.backend(),
                in_cycle(table),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(rows(file), Some(n as u64), "{file}");
        assert!(n > 0, "{table}");
    }
    let kept = store.final_report(2025).await.unwrap().unwrap();
    let pdf = archive
        .files
        .iter()
        .find(|f| f.name == "kvalitetsrapport-2025.pdf")
        .unwrap();
    assert_eq!(pdf.bytes, kept.pdf);
    assert_eq!(m.final_report_sha256.as_deref(), Some(kept.sha256.as_str()));
    let events = archive
        .files
        .iter()
        .find(|f| f.name == "events.csv")
        .unwrap();
    let text = String::from_utf8(events.bytes.clone()).unwrap();
    // Mariehønen's quoted notes: one field, quoted, its quotes doubled if any.
    let quoted = format!("\"{}\"", QUOTED.replace('"', "\"\""));
    assert!(text.contains(&quoted), "{text}");
    let manifest: hjul_store::Manifest = serde_json::from_slice(&archive.manifest_json()).unwrap();
    assert_eq!(&manifest, m);
    assert!(store.archive(2031, chrono::Utc::now(), "x").await.is_err());
}
