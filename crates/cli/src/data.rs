//! `hjul data`: import measurement files, show a unit's numbers, list the measures.
//! The rules (what a file may hold, what is hidden, what a trend says) are
//! `hjul_wheel::data`'s; this prints what it says.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use hjul_app::{Actor, Core};
use hjul_wheel::data::{self, Verdict};

use crate::Format;
use crate::context::Context;
use crate::records::progress;
use crate::table::Table;

pub async fn import(
    (core, actor): (&Core, &Actor),
    ctx: &Context,
    text: &str,
    file: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let areas = core.unit_areas().await?;
    let lines = text.lines().count().saturating_sub(1);
    let bar = progress(lines, "checking");
    let rows = data::read_measurements(
        text,
        &ctx.wheel.catalogue,
        |id| areas.get(id).copied(),
        |n| bar.set_position(n as u64),
    )
    .with_context(|| format!("{} was not imported", file.display()))?;
    bar.finish_and_clear();
    let bar = progress(rows.len(), "writing");
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let report = core
        .import_measurements(actor, &name, &rows, |done, _| {
            bar.set_position(done as u64);
        })
        .await
        .with_context(|| format!("{} was not imported", file.display()))?;
    bar.finish_and_clear();
    writeln!(
        out,
        "imported {}: {} values ({} new, {} replacing one on record; the old values are kept)",
        file.display(),
        report.rows,
        report.new,
        report.replaced
    )?;
    Ok(())
}

pub async fn show(
    (core, actor): (&Core, &Actor),
    ctx: &Context,
    unit_id: &hjul_wheel::UnitId,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (_, sheet) = core
        .data_sheet(actor, unit_id.as_str())
        .await
        .with_context(|| format!("the data of {unit_id} cannot be shown"))?;
    match format {
        Format::Json => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "unit_id": unit_id,
                    "measures": sheet,
                }))?
            )?;
        }
        Format::Table => {
            if sheet.is_empty() {
                writeln!(
                    out,
                    "No data for {unit_id}; `hjul data import FILE` brings it in."
                )?;
                return Ok(());
            }
            let number = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"));
            let mut table = Table::new(&[
                "MEASURE", "PERIOD", "VALUE", "CHANGE", "VERDICT", "AREA", "DEPT",
            ]);
            for m in &sheet {
                table.row(vec![
                    m.measure.to_string(),
                    m.latest_period.map(|p| p.to_string()).unwrap_or_default(),
                    match (m.latest_period, m.latest) {
                        (Some(_), None) => "(too few)".to_owned(),
                        (_, v) => number(v),
                    },
                    m.change
                        .map_or_else(|| "–".to_owned(), |c| format!("{c:+.1}")),
                    verdict_word(m.verdict).to_owned(),
                    number(m.area_average),
                    number(m.department_average),
                ]);
            }
            table.write(out)?;
            writeln!(
                out,
                "\nCompared with the area's and the department's averages only; values from \
                 fewer than {} respondents are not shown.",
                ctx.min_responses
            )?;
        }
    }
    Ok(())
}

pub async fn patterns(
    (core, actor): (&Core, &Actor),
    ctx: &Context,
    cycle: i32,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let def = &ctx.wheel.definition;
    let starts = def.cycle(cycle)?.cycle().starts();
    let all = core.patterns(actor, starts).await?;
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cycle": cycle,
                "data_before": starts,
                "patterns": all.as_slice(),
            }))?
        )?,
        Format::Table => {
            if all.is_empty() {
                writeln!(
                    out,
                    "No data of periods ended before {starts}; `hjul data import FILE` brings it in."
                )?;
                return Ok(());
            }
            let number = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
            let mut table = Table::new(&[
                "MEASURE",
                "AREA",
                "PERIOD",
                "UNITS",
                "AVERAGE",
                "SPREAD",
                "BETTER",
                "WORSE",
                "SAME",
                "AT TARGET",
            ]);
            for p in all.iter() {
                table.row(vec![
                    p.measure.to_string(),
                    p.area.key().to_owned(),
                    p.period.to_string(),
                    p.pattern.units.to_string(),
                    number(p.pattern.average),
                    number(p.pattern.spread),
                    p.pattern.better.to_string(),
                    p.pattern.worse.to_string(),
                    p.pattern.unchanged.to_string(),
                    p.target_met
                        .map(|n| format!("{n} of {}", p.pattern.units))
                        .unwrap_or_default(),
                ]);
            }
            table.write(out)?;
            writeln!(
                out,
                "\nCycle {cycle}: data of periods ended before {starts}. Counts of units, never a \
                 ranking; values from fewer than {} respondents count in none.",
                ctx.min_responses
            )?;
        }
    }
    Ok(())
}

pub async fn gaps(
    (core, actor): (&Core, &Actor),
    ctx: &Context,
    cycle: i32,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let starts = ctx.wheel.definition.cycle(cycle)?.cycle().starts();
    let gaps = core.data_gaps(actor, starts).await?;
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cycle": cycle,
                "data_before": starts,
                "gaps": gaps,
            }))?
        )?,
        Format::Table => {
            if gaps.is_empty() {
                writeln!(
                    out,
                    "Nothing missing for cycle {cycle}: every measure on record has a value for \
                     each unit it is collected for, in the latest period ended before {starts}."
                )?;
                return Ok(());
            }
            let mut table = Table::new(&["MEASURE", "PERIOD", "MISSING", "OF UNITS"]);
            for g in &gaps {
                table.row(vec![
                    g.measure.clone(),
                    g.period
                        .map_or_else(|| "no values yet".to_owned(), |p| p.to_string()),
                    g.missing.to_string(),
                    g.units.to_string(),
                ]);
            }
            table.write(out)?;
            writeln!(
                out,
                "\nCycle {cycle}: the latest period ended before {starts}; a unit counts once it \
                 has a value of the measure for a period of that kind."
            )?;
        }
    }
    Ok(())
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Unchanged => "unchanged",
        Verdict::Insufficient => "no comparison",
    }
}

pub fn measures(ctx: &Context, out: &mut impl Write) -> anyhow::Result<()> {
    let c = &ctx.wheel.catalogue;
    let mut table = Table::new(&["CODE", "UNIT", "RANGE", "BETTER", "AREAS", "NAME"]);
    for m in c.all_measures() {
        table.row(vec![
            m.code.to_string(),
            format!("{:?}", m.unit).to_lowercase(),
            if m.max == f64::MAX {
                format!("{} or more", m.min)
            } else {
                format!("{} to {}", m.min, m.max)
            },
            match m.direction {
                hjul_wheel::Direction::Lower => "lower".to_owned(),
                hjul_wheel::Direction::Higher => "higher".to_owned(),
            },
            if m.areas.is_empty() {
                "all".to_owned()
            } else {
                m.areas
                    .iter()
                    .map(|a| a.key())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            m.name_en.clone(),
        ]);
    }
    table.write(out)?;
    writeln!(out, "\nCatalogue {}.", c.version)?;
    Ok(())
}
