//! `hjul status` and `hjul unit show` as text for an 80-column terminal, in the reader's
//! language: the wheel's words for steps, deadlines and events, short forms where a
//! column is narrow (the dashboard's catalogue, `[cli]`), and dates as the language
//! writes them. `--format json` keeps the codes for scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use hjul_store::{StatusRow, Timeline};
use hjul_wheel::text::Catalogue;
use hjul_wheel::{Date, Deadline, DeadlineState, Language, Step, Text, WheelDefinition};

use crate::table::{Table, WIDTH, fit, wrap};

/// The words of one language for the terminal.
pub struct Words {
    cat: Catalogue,
    language: Language,
}

impl Words {
    pub fn new(language: Language) -> Self {
        Self {
            cat: hjul_api::export::words(language),
            language,
        }
    }

    fn word(&self, key: &str) -> String {
        self.cat.word(key).to_owned()
    }

    fn text(&self, text: &Text) -> String {
        self.cat.render(text)
    }

    fn date(&self, d: Date) -> String {
        self.cat.date(d)
    }

    /// A step for a narrow column.
    fn step(&self, s: Option<Step>) -> String {
        self.word(&format!("cli.step.{}", s.map_or("none", Step::key)))
    }

    /// A unit deadline for a narrow column.
    fn short(&self, d: Deadline) -> String {
        self.word(&format!("cli.deadline.{}", d.key()))
    }

    /// A deadline's full name.
    fn deadline(&self, d: Deadline) -> String {
        self.word(&format!("deadline.{}", d.key()))
    }

    fn key(&self, group: &str, key: &str) -> String {
        self.word(&format!("{group}.{key}"))
    }
}

/// The language of the terminal's text: `--lang`, or the locale's (`LC_ALL`,
/// `LC_MESSAGES`, `LANG`: Danish for `da…`), or English.
pub fn language(given: Option<Language>) -> Language {
    given.unwrap_or_else(|| {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        if locale.starts_with("da") {
            Language::Da
        } else {
            Language::En
        }
    })
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
    (at, w): (Date, &Words),
    rows: &[StatusRow],
) -> io::Result<()> {
    let plan = def.cycle_on(at);
    let open: Vec<String> = plan
        .open_phases(at)
        .iter()
        .map(|p| match (def.phase(*p), w.language) {
            (Some(x), Language::Da) => x.name_da.clone(),
            (Some(x), Language::En) => x.name_en.clone(),
            (None, _) => p.key().to_owned(),
        })
        .collect();
    writeln!(
        out,
        "{}",
        fit(&w.text(
            &Text::new("cli.status_header")
                .arg("cycle", plan.cycle().year())
                .arg("at", w.date(at))
                .arg(
                    "open",
                    if open.is_empty() {
                        w.word("cli.none")
                    } else {
                        open.join(", ")
                    }
                )
        ))
    )?;
    writeln!(out)?;
    if rows.is_empty() {
        writeln!(out, "{}", w.word("cli.no_units"))?;
        return Ok(());
    }
    let id_width = rows
        .iter()
        .map(|r| r.unit_id.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 16);
    // UNIT  STEP(18)  NEXT(22)  LATE(4)  NAME(rest)
    let name_width = WIDTH
        .saturating_sub(id_width + 2 + 18 + 2 + 22 + 2 + 4 + 2)
        .max(8);
    let header: Vec<String> = ["unit", "step", "next", "late", "name"]
        .iter()
        .map(|c| w.word(&format!("cli.col_{c}")))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for r in rows {
        table.row(vec![
            cut(&r.unit_id, id_width),
            cut(&w.step(r.step), 18),
            r.next_deadline.map_or_else(
                || "-".to_owned(),
                |n| format!("{} {}", w.short(n.deadline), w.date(n.due)),
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
    let mut parts = vec![if rows.len() == 1 {
        w.word("cli.unit_one")
    } else {
        w.text(&Text::new("cli.units").arg("count", rows.len()))
    }];
    for (step, n) in &counts {
        parts.push(format!("{} {n}", w.step(*step)));
    }
    parts.push(w.text(&Text::new("cli.overdue_count").arg("count", overdue)));
    for line in wrap(&parts.join(" · "), WIDTH) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn timeline(out: &mut impl Write, t: &Timeline, w: &Words) -> io::Result<()> {
    let u = &t.unit;
    let line = |out: &mut dyn Write, text: Text| writeln!(out, "{}", fit(&w.text(&text)));
    line(
        out,
        Text::new("cli.unit_line")
            .arg("id", u.unit_id.as_str())
            .arg("name", u.name.as_str())
            .arg("level", u.level)
            .arg("area", w.key("area", u.area.key()))
            .arg(
                "closed",
                if u.active {
                    String::new()
                } else {
                    w.word("cli.closed")
                },
            ),
    )?;
    line(
        out,
        Text::new("cli.leader")
            .arg("name", u.leader_name.as_str())
            .arg("email", u.leader_email.as_str()),
    )?;
    if let Some((id, name)) = &u.parent {
        line(
            out,
            Text::new("cli.parent")
                .arg("id", id.as_str())
                .arg("name", name.as_str()),
        )?;
    }
    let next = t.next_deadline.map_or_else(
        || w.word("cli.nothing_due"),
        |n| {
            let late = if t.overdue_days > 0 {
                w.text(&Text::new("cli.days_overdue").arg("days", t.overdue_days))
            } else {
                String::new()
            };
            w.text(
                &Text::new("cli.next")
                    .arg("deadline", w.deadline(n.deadline))
                    .arg("due", w.date(n.due))
                    .arg("late", late),
            )
        },
    );
    line(
        out,
        Text::new("cli.cycle_line")
            .arg("cycle", t.cycle)
            .arg("at", w.date(t.at))
            .arg("step", w.key("step", t.step.map_or("none", Step::key))),
    )?;
    writeln!(out, "{}", fit(&next))?;
    line(
        out,
        Text::new("cli.to_act").arg("who", t.responsible.as_str()),
    )?;

    writeln!(out)?;
    writeln!(out, "{}", w.word("cli.deadlines"))?;
    if t.deadlines.is_empty() {
        writeln!(out, "  {}", w.word("cli.none_for_level"))?;
    }
    for d in &t.deadlines {
        let due = d.status.due.map_or_else(
            || w.word("cli.not_yet_set"),
            |x| w.text(&Text::new("cli.due").arg("due", w.date(x))),
        );
        let state = w.text(&match d.state {
            DeadlineState::Met { on, late_days: 0 } => Text::new("cli.met").arg("on", w.date(on)),
            DeadlineState::Met { on, late_days } => Text::new("cli.met_late")
                .arg("on", w.date(on))
                .arg("days", late_days),
            DeadlineState::Waiting => Text::new("cli.waits_for").arg(
                "what",
                d.status
                    .waiting_for
                    .iter()
                    .map(|x| w.deadline(*x))
                    .collect::<Vec<_>>()
                    .join(" + "),
            ),
            DeadlineState::NotOpen { opens } => Text::new("cli.opens").arg("on", w.date(opens)),
            DeadlineState::Open { .. } => Text::new("cli.open").arg("who", d.who.as_str()),
            DeadlineState::Overdue { days } => Text::new("cli.overdue")
                .arg("days", days)
                .arg("who", d.who.as_str()),
            DeadlineState::NotOwed { joined } => {
                Text::new("cli.not_owed").arg("joined", w.date(joined))
            }
        });
        let name = match d.status.occurrence {
            0 => w.deadline(d.status.deadline),
            n => format!("{} #{n}", w.deadline(d.status.deadline)),
        };
        writeln!(out, "  {}", fit(&name))?;
        writeln!(out, "{}", fit(&format!("      {due:<18}  {state}")))?;
    }

    if !t.milestones.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", w.word("cli.milestones"))?;
        let mut milestones: Vec<_> = t.milestones.iter().collect();
        milestones.sort_by_key(|m| m.met_on);
        for m in milestones {
            writeln!(
                out,
                "{}",
                fit(&format!(
                    "  {}  {}",
                    w.date(m.met_on),
                    w.deadline(m.milestone)
                ))
            )?;
            for (i, theme) in m.themes.iter().enumerate() {
                writeln!(out, "{}", fit(&format!("      {}. {theme}", i + 1)))?;
            }
        }
    }

    writeln!(out)?;
    writeln!(out, "{}", w.word("cli.events"))?;
    if t.events.is_empty() {
        writeln!(out, "  {}", w.word("cli.none_yet"))?;
    }
    for e in &t.events {
        let revision = e.revision.map_or_else(String::new, |r| {
            w.text(&Text::new("cli.revision").arg("revision", r))
        });
        // The start of the id is enough for `hjul correct`.
        let id = e.id.to_string();
        writeln!(
            out,
            "{}",
            fit(&format!(
                "  {}  [{}]  {}{revision}{}",
                w.date(e.on),
                &id[..13],
                w.key("event", e.kind.key()),
                if e.superseded {
                    w.word("cli.corrected")
                } else {
                    String::new()
                },
            ))
        )?;
        // Who recorded it on a line of its own, so a long address is never cut.
        for piece in wrap(
            &w.text(
                &Text::new("cli.recorded")
                    .arg("at", w.date(e.recorded_at.date_naive()))
                    .arg("by", e.recorded_by.as_str()),
            ),
            WIDTH - 6,
        ) {
            writeln!(out, "      {piece}")?;
        }
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
        let signed = a.signed_on.map_or_else(
            || w.word("cli.not_signed"),
            |d| w.text(&Text::new("cli.signed").arg("on", w.date(d))),
        );
        let mut head = w.text(
            &Text::new("cli.agreement")
                .arg("revision", a.revision)
                .arg("submitted", w.date(a.submitted_on))
                .arg("signed", signed),
        );
        if let Some(s) = a.score {
            head.push_str(" · ");
            head.push_str(&w.text(&Text::new("cli.score").arg("score", s.to_string())));
        }
        writeln!(out, "{}", fit(&head))?;
        for (i, g) in a.goals.iter().enumerate() {
            let indicator = g.indicator.as_ref().map_or_else(String::new, |x| {
                w.text(&Text::new("cli.on_indicator").arg("indicator", x.as_str()))
            });
            writeln!(
                out,
                "{}",
                fit(&format!("  {}. {} ({} %)", i + 1, g.title, g.weight))
            )?;
            let goal = w.text(
                &Text::new("cli.goal")
                    .arg("dimension", w.key("dimension", g.dimension.key()))
                    .arg("kind", w.key("kind", g.kind.key()))
                    .arg("indicator", indicator)
                    .arg("horizon", w.key("horizon", g.horizon.key()))
                    .arg("target", w.date(g.target_date)),
            );
            for piece in wrap(&goal, WIDTH - 5) {
                writeln!(out, "     {piece}")?;
            }
            if let Some(grade) = &g.grade {
                let mut graded =
                    w.text(&Text::new("cli.graded").arg("grade", w.key("grade", grade.key())));
                if let Some(n) = &g.grade_note {
                    graded.push_str(": ");
                    graded.push_str(n);
                }
                for piece in wrap(&graded, WIDTH - 5) {
                    writeln!(out, "     {piece}")?;
                }
            }
        }
    }
    Ok(())
}
