//! `hjul-bench report`: the department's quality report over N units with a whole cycle
//! and eight years of figures on record, gathered and written as Markdown, HTML and PDF,
//! beside the same report over no units (the fixed cost: the cycle, the milestones, the
//! templates, Typst and its fonts) in the same run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hjul_report::{Format, Request, Scope, Templates};
use hjul_tests::{TestDb, organisation, stamp};
use hjul_wheel::{Language, Organisation};

struct Stage {
    /// Units covered, and whether each has its appendix page.
    units: usize,
    appendix: bool,
    gather: Duration,
    markdown: Duration,
    html: Duration,
    pdf: Duration,
    pdf_bytes: usize,
}

struct Figures {
    backend: &'static str,
    empty: Stage,
    full: Stage,
    /// The process' peak resident memory before the reports (the setup's) and after
    /// them, in MiB.
    setup_mib: u64,
    peak_mib: u64,
}

/// The report over `scope`, gathered and written `runs` times; the median of each step.
async fn stage(
    store: &hjul_store::Store,
    templates: &Templates,
    scope: &Scope,
    runs: usize,
) -> anyhow::Result<Stage> {
    let (mut g, mut m, mut h, mut p) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut pdf_bytes, mut units, mut appendix) = (0, 0, false);
    for _ in 0..runs {
        let t = Instant::now();
        let report = hjul_report::build(
            store,
            &Request {
                cycle: 2025,
                scope: scope.clone(),
                language: Language::Da,
                today: hjul_tests::date("2027-09-20"),
                fin: None,
            },
        )
        .await?;
        g.push(t.elapsed());
        appendix = !report.units.is_empty();
        // Over the appendix's limit the report covers the units without a page each.
        units = report.appendix_left_out.unwrap_or(report.units.len());
        for (format, times) in [
            (Format::Markdown, &mut m),
            (Format::Html, &mut h),
            (Format::Pdf, &mut p),
        ] {
            let t = Instant::now();
            let bytes = templates.render(&report, format)?;
            times.push(t.elapsed());
            anyhow::ensure!(!bytes.is_empty(), "an empty {format:?}");
            if format == Format::Pdf {
                pdf_bytes = bytes.len();
            }
        }
    }
    Ok(Stage {
        gather: crate::median(g),
        markdown: crate::median(m),
        html: crate::median(h),
        pdf: crate::median(p),
        pdf_bytes,
        units,
        appendix,
    })
}

/// The peak resident memory of this process so far (Linux), in MiB.
fn peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

async fn measure(
    name: &'static str,
    db: TestDb,
    n: usize,
    runs: usize,
    (templates, part_kib): (Option<&std::path::Path>, Option<usize>),
) -> anyhow::Result<Figures> {
    eprintln!("{name}: {n} units, a whole cycle and eight years of figures…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(n), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await?;
    let (text, _) = crate::data::file(&store, &org);
    let areas = store.unit_areas().await?;
    let rows = hjul_wheel::data::read_measurements(
        &text,
        &store.wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_measurements("bench.csv", &rows, &stamp("2025-09-01"), |_, _| {})
        .await?;
    crate::record_cycle(&store, &org).await?;
    let mut templates = Templates::load(templates)?;
    if let Some(kib) = part_kib {
        templates = templates.with_part_bytes(kib.saturating_mul(1024));
    }
    let setup_mib = peak_mib();
    eprintln!("{name}: the reports…");
    // The fixed cost first, and once untimed each, so the fonts and templates are read.
    let nobody = Scope::Units(HashSet::new());
    stage(&store, &templates, &nobody, 1).await?;
    let empty = stage(&store, &templates, &nobody, runs).await?;
    let full = stage(&store, &templates, &Scope::Department, runs).await?;
    anyhow::ensure!(
        full.units == org.units().len() && empty.units == 0,
        "the reports cover {} and {} units, not {} and 0",
        full.units,
        empty.units,
        org.units().len()
    );
    store.close().await?;
    Ok(Figures {
        backend: name,
        empty,
        full,
        setup_mib,
        peak_mib: peak_mib(),
    })
}

pub async fn run(
    units: usize,
    pg: Option<String>,
    runs: usize,
    (templates, part_kib): (Option<std::path::PathBuf>, Option<usize>),
) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let mut figures = vec![
        measure(
            "sqlite",
            TestDb::sqlite("bench-report"),
            units,
            runs,
            (templates.as_deref(), part_kib),
        )
        .await?,
    ];
    if let Some(url) = pg {
        figures.push(
            measure(
                "postgres",
                crate::postgres_db(&url).await?,
                units,
                runs,
                (templates.as_deref(), part_kib),
            )
            .await?,
        );
    }
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    println!(
        "the department's quality report of cycle 2025 over {units} units; median of {runs} runs"
    );
    println!();
    println!(
        "{:<9} {:<8} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "backend", "units", "gather", "markdown", "html", "pdf", "pdf size", "total"
    );
    for f in &figures {
        for st in [&f.empty, &f.full] {
            let total = st.gather + st.markdown + st.pdf;
            println!(
                "{:<9} {:<8} {:>9} {:>9} {:>9} {:>9} {:>7} KB {:>8}",
                f.backend,
                format!(
                    "{}{}",
                    st.units,
                    if st.appendix || st.units == 0 {
                        ""
                    } else {
                        "*"
                    }
                ),
                s(st.gather),
                s(st.markdown),
                s(st.html),
                s(st.pdf),
                st.pdf_bytes / 1024,
                s(total),
            );
        }
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "{:<9} ratio    {:>8.1}× {:>8.1}× {:>8.1}× {:>8.1}×            {:>7.1}×   peak {} MiB (setup {} MiB)",
            f.backend,
            ratio(f.full.gather, f.empty.gather),
            ratio(f.full.markdown, f.empty.markdown),
            ratio(f.full.html, f.empty.html),
            ratio(f.full.pdf, f.empty.pdf),
            ratio(
                f.full.gather + f.full.markdown + f.full.pdf,
                f.empty.gather + f.empty.markdown + f.empty.pdf
            ),
            f.peak_mib,
            f.setup_mib
        );
    }
    println!();
    println!(
        "units 0: the same report over no units (the cycle, its milestones and patterns, the \
         templates, Typst and its fonts): the fixed cost. gather: the report's figures from \
         the store; markdown: the template filled; html: filled and put in its frame; pdf: \
         filled and laid out by Typst; total: gather + markdown + pdf (what `hjul report` \
         does for a PDF). ratio: the whole department over no units. *: over \
         hjul_report::model::APPENDIX_UNITS units, so without the appendix's page per unit."
    );
    Ok(())
}
