//! `hjul plan` and `hjul calendar` as text.

use std::io::{self, Write};

use chrono::Datelike;
use hjul_wheel::phase::Deadline;
use hjul_wheel::{Closure, Level, Plan, WheelDefinition};
use serde::Serialize;

use crate::table::{Table, WIDTH, fit, wrap};

fn levels(levels: &[Level]) -> String {
    if levels.is_empty() {
        "department".to_owned()
    } else {
        levels
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn deadlines(list: &[Deadline]) -> String {
    let names = list
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" and ");
    if list.len() > 1 {
        format!("the later of {names}")
    } else {
        names
    }
}

pub fn write_table(
    out: &mut impl Write,
    plan: &Plan,
    def: &WheelDefinition,
    source: &str,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        fit(&format!(
            "Cycle {}: {} – {} · wheel {} ({source})",
            plan.cycle, plan.starts, plan.ends, plan.definition
        ))
    )?;
    writeln!(out)?;

    let mut phases = Table::new(&["PHASE", "OPENS", "CLOSES", "FASE"]);
    for p in &plan.phases {
        phases.row(vec![
            p.phase.to_string(),
            p.opens.to_string(),
            p.closes.to_string(),
            p.name_da.clone(),
        ]);
    }
    phases.write(out)?;
    writeln!(out)?;

    let mut table = Table::new(&["DEADLINE", "DUE", "OPENS", "LEVELS", "RESPONSIBLE"]);
    for d in &plan.deadlines {
        let due = if d.moved_from.is_some() {
            format!("{}*", d.due)
        } else {
            d.due.to_string()
        };
        table.row(vec![
            match d.occurrence {
                0 => d.deadline.to_string(),
                n => format!("{} #{n}", d.deadline),
            },
            due,
            d.opens.to_string(),
            levels(&d.levels),
            d.responsible.to_string(),
        ]);
    }
    table.write(out)?;
    for d in plan.deadlines.iter().filter(|d| d.moved_from.is_some()) {
        if let Some(from) = d.moved_from {
            let why = def
                .calendar
                .closure(from)
                .map_or_else(String::new, |c| format!(" ({c})"));
            writeln!(
                out,
                "{}",
                fit(&format!(
                    "* moved from {from}{why} to the business day before"
                ))
            )?;
        }
    }

    if !plan.relative_deadlines.is_empty() {
        writeln!(out)?;
        writeln!(out, "Due after events:")?;
        for r in &plan.relative_deadlines {
            let when = match (r.days_after, r.due) {
                (Some(days), _) => format!("{days} days after {}", deadlines(&r.after)),
                (None, Some(due)) => format!("on {due}, open after {}", deadlines(&r.after)),
                (None, None) => String::new(),
            };
            let whom = match r.levels.as_slice() {
                [] => "department".to_owned(),
                [one] => format!("level {one}"),
                more => format!("levels {}", levels(more)),
            };
            writeln!(out, "  {} ({whom}), {}:", r.deadline, r.responsible)?;
            for line in wrap(&when, WIDTH - 6) {
                writeln!(out, "      {line}")?;
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ClosedDay {
    date: chrono::NaiveDate,
    weekday: String,
    #[serde(flatten)]
    closure: Closure,
    name: String,
}

pub fn write_calendar(
    out: &mut impl Write,
    def: &WheelDefinition,
    year: i32,
    json: bool,
) -> anyhow::Result<()> {
    if !hjul_wheel::calendar::SUPPORTED_YEARS.contains(&year) {
        anyhow::bail!(
            "{year} is outside the years hjul can compute ({}–{})",
            hjul_wheel::calendar::SUPPORTED_YEARS.start(),
            hjul_wheel::calendar::SUPPORTED_YEARS.end()
        );
    }
    let days: Vec<ClosedDay> = def
        .calendar
        .closed_weekdays(year)
        .into_iter()
        .map(|(date, closure)| ClosedDay {
            date,
            weekday: date.weekday().to_string(),
            closure,
            name: match closure {
                Closure::PublicHoliday { holiday } => holiday.name_da().to_owned(),
                Closure::ClosingDay => "Lukkedag".to_owned(),
                Closure::Weekend => String::new(),
            },
        })
        .collect();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&days)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "Closed weekdays in {year} (besides every Saturday and Sunday):"
    )?;
    writeln!(out)?;
    let mut table = Table::new(&["DATE", "DAY", "WHY", "NAME"]);
    for d in &days {
        let why = match d.closure {
            Closure::PublicHoliday { .. } => "public holiday",
            Closure::ClosingDay => "closing day",
            Closure::Weekend => "weekend",
        };
        table.row(vec![
            d.date.to_string(),
            d.weekday.clone(),
            why.to_owned(),
            d.name.clone(),
        ]);
    }
    table.write(out)?;
    writeln!(out)?;
    writeln!(out, "{} closed weekdays.", days.len())?;
    Ok(())
}
