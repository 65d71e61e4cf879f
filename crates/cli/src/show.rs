//! `hjul status` and `hjul unit show` as text for an 80-column terminal.

use std::collections::BTreeMap;
use std::io::{self, Write};

use hjul_store::{StatusRow, Timeline};
use hjul_wheel::{Date, Deadline, DeadlineState, Step, WheelDefinition};

use crate::table::{Table, WIDTH, fit, wrap};

/// The short name of a unit deadline, for narrow columns.
fn short(d: Deadline) -> &'static str {
    match d {
        Deadline::DialogueHeld => "dialogue",
        Deadline::AgreementSigned => "agreement",
        Deadline::MidwayStatus => "midway",
        other => other.key(),
    }
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(width.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

pub fn status_table(
    out: &mut impl Write,
    def: &WheelDefinition,
    at: Date,
    rows: &[StatusRow],
) -> io::Result<()> {
    let plan = def.cycle_on(at);
    let open: Vec<String> = plan
        .open_phases(at)
        .iter()
        .map(ToString::to_string)
        .collect();
    writeln!(
        out,
        "{}",
        fit(&format!(
            "Cycle {} on {at} · open: {}",
            plan.cycle().year(),
            if open.is_empty() {
                "none".to_owned()
            } else {
                open.join(", ")
            }
        ))
    )?;
    writeln!(out)?;
    if rows.is_empty() {
        writeln!(out, "No units match.")?;
        return Ok(());
    }
    let id_width = rows
        .iter()
        .map(|r| r.unit_id.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 16);
    // UNIT  STEP(18)  NEXT(20)  LATE(4)  NAME(rest)
    let name_width = WIDTH
        .saturating_sub(id_width + 2 + 18 + 2 + 20 + 2 + 4 + 2)
        .max(8);
    let mut table = Table::new(&["UNIT", "STEP", "NEXT", "LATE", "NAME"]);
    for r in rows {
        table.row(vec![
            cut(&r.unit_id, id_width),
            r.step.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            r.next_deadline.map_or_else(
                || "-".to_owned(),
                |n| format!("{} {}", short(n.deadline), n.due),
            ),
            if r.overdue_days > 0 {
                format!("{}d", r.overdue_days)
            } else {
                String::new()
            },
            cut(&r.name, name_width),
        ]);
    }
    table.write(out)?;
    writeln!(out)?;

    let mut counts: BTreeMap<Option<Step>, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.step).or_default() += 1;
    }
    let overdue = rows.iter().filter(|r| r.overdue_days > 0).count();
    let mut parts = vec![format!(
        "{} unit{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )];
    for (step, n) in &counts {
        parts.push(format!("{} {n}", step.map_or("no steps", Step::key)));
    }
    parts.push(format!("overdue {overdue}"));
    for line in wrap(&parts.join(" · "), WIDTH) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn timeline(out: &mut impl Write, t: &Timeline) -> io::Result<()> {
    let u = &t.unit;
    writeln!(
        out,
        "{}",
        fit(&format!(
            "{}  {}  (level {}, {}{})",
            u.unit_id,
            u.name,
            u.level,
            u.area,
            if u.active { "" } else { ", deactivated" }
        ))
    )?;
    writeln!(
        out,
        "{}",
        fit(&format!("leader   {} <{}>", u.leader_name, u.leader_email))
    )?;
    if let Some((id, name)) = &u.parent {
        writeln!(out, "{}", fit(&format!("parent   {id}  {name}")))?;
    }
    let next = t.next_deadline.map_or_else(
        || "nothing due".to_owned(),
        |n| {
            let late = if t.overdue_days > 0 {
                format!(", {} days overdue", t.overdue_days)
            } else {
                String::new()
            };
            format!("next {} due {}{late}", n.deadline, n.due)
        },
    );
    writeln!(
        out,
        "{}",
        fit(&format!(
            "cycle    {} on {}: {}; {next}",
            t.cycle,
            t.at,
            t.step.map_or("no steps", Step::key)
        ))
    )?;

    writeln!(out, "{}", fit(&format!("to act   {}", t.responsible)))?;

    writeln!(out)?;
    writeln!(out, "Deadlines")?;
    if t.deadlines.is_empty() {
        writeln!(out, "  none for this level")?;
    }
    for d in &t.deadlines {
        let due = d
            .status
            .due
            .map_or_else(|| "not yet set".to_owned(), |x| x.to_string());
        let state = match d.state {
            DeadlineState::Met { on, late_days: 0 } => format!("met {on}"),
            DeadlineState::Met { on, late_days } => format!("met {on}, {late_days} days late"),
            DeadlineState::Waiting => format!(
                "waits for {}",
                d.status
                    .waiting_for
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            DeadlineState::NotOpen { opens } => format!("opens {opens}"),
            DeadlineState::Open { .. } => format!("open, {}", d.who),
            DeadlineState::Overdue { days } => format!("{days} days overdue, {}", d.who),
            DeadlineState::NotOwed { joined } => {
                format!("not the unit's: due before it joined on {joined}")
            }
        };
        writeln!(
            out,
            "{}",
            fit(&format!(
                "  {:<17} due {due:<11}  {state}",
                match d.status.occurrence {
                    0 => d.status.deadline.key().to_owned(),
                    n => format!("{} #{n}", d.status.deadline.key()),
                }
            ))
        )?;
    }

    if !t.milestones.is_empty() {
        writeln!(out)?;
        writeln!(out, "Department milestones")?;
        let mut milestones: Vec<_> = t.milestones.iter().collect();
        milestones.sort_by_key(|m| m.met_on);
        for m in milestones {
            writeln!(out, "  {:<17} {}", m.milestone, m.met_on)?;
            for (i, theme) in m.themes.iter().enumerate() {
                writeln!(out, "{}", fit(&format!("      {}. {theme}", i + 1)))?;
            }
        }
    }

    writeln!(out)?;
    writeln!(out, "Events")?;
    if t.events.is_empty() {
        writeln!(out, "  none yet")?;
    }
    for e in &t.events {
        let revision = e
            .revision
            .map_or_else(String::new, |r| format!(" (revision {r})"));
        // The start of the id is enough for `hjul correct`.
        let id = e.id.to_string();
        writeln!(
            out,
            "{}",
            fit(&format!(
                "  {}  [{}]  {}{revision}{}  (recorded {} by {})",
                e.on,
                &id[..13],
                e.kind,
                if e.superseded { ", corrected" } else { "" },
                e.recorded_at.format("%Y-%m-%d"),
                e.recorded_by
            ))
        )?;
        if let Some(notes) = &e.notes {
            for line in notes.lines().filter(|l| !l.trim().is_empty()) {
                for piece in wrap(line.trim(), WIDTH - 6) {
                    writeln!(out, "      {piece}")?;
                }
            }
        }
    }

    for a in &t.agreements {
        writeln!(out)?;
        let signed = a
            .signed_on
            .map_or_else(|| "not signed".to_owned(), |d| format!("signed {d}"));
        let score = a
            .score
            .map_or_else(String::new, |s| format!(" · score {s}"));
        writeln!(
            out,
            "{}",
            fit(&format!(
                "Agreement rev. {} · submitted {} · {signed}{score}",
                a.revision, a.submitted_on
            ))
        )?;
        for (i, g) in a.goals.iter().enumerate() {
            let indicator = g
                .indicator
                .as_ref()
                .map_or_else(String::new, |x| format!(" on {x}"));
            writeln!(
                out,
                "{}",
                fit(&format!("  {}. {} ({} %)", i + 1, g.title, g.weight))
            )?;
            writeln!(
                out,
                "{}",
                fit(&format!(
                    "     {}, {}{indicator}, {} term, by {}",
                    g.dimension, g.kind, g.horizon, g.target_date
                ))
            )?;
            if let Some(grade) = &g.grade {
                let note = g
                    .grade_note
                    .as_ref()
                    .map_or_else(String::new, |n| format!(": {n}"));
                writeln!(out, "{}", fit(&format!("     graded {grade}{note}")))?;
            }
        }
    }
    Ok(())
}
