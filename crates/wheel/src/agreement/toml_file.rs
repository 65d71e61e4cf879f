//! Agreement and grades files: TOML read leniently into drafts, so that every problem
//! of a file — syntax, a value of the wrong kind, a key that does not exist — is found in
//! one pass and reported with its line, and a date may be written with or without quotes.

use std::collections::BTreeSet;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{GOAL_FIELDS, GoalDraft, GradeDraft};
use crate::config_error::{Lines, Problem, Problems};
use crate::limits::{MAX_GOALS, MAX_PROBLEMS};
use crate::text::{Arg, Text};

/// The goals of an agreement file as drafts, each with its line, and the fields of each
/// that could not be read (so they are not reported as missing as well).
#[derive(Default)]
pub(super) struct ReadGoals {
    pub drafts: Vec<GoalDraft>,
    pub lines: Vec<Option<usize>>,
    pub unreadable: Vec<BTreeSet<&'static str>>,
}

const GRADE_FIELDS: [&str; 3] = ["goal", "grade", "note"];

/// The syntax errors of the file, and where each starts.
fn parse<'i>(
    text: &'i str,
    lines: &Lines,
    problems: &mut Problems,
) -> (Spanned<DeTable<'i>>, Vec<usize>) {
    let (doc, errors) = DeTable::parse_recoverable(text);
    let mut at = Vec::new();
    for e in errors.iter().take(MAX_PROBLEMS + 1) {
        let start = e.span().map(|s| s.start);
        at.extend(start);
        problems.push(Problem::text(
            start.map(|s| lines.of(s)),
            "",
            Text::new("file.syntax").arg("detail", e.message().trim()),
        ));
    }
    problems.more += errors.len().saturating_sub(MAX_PROBLEMS + 1);
    (doc, at)
}

/// The tables of `[[name]]` in the document, with their spans; other top-level keys are
/// problems.
fn tables<'a, 'i>(
    doc: &'a DeTable<'i>,
    name: &'static str,
    lines: &Lines,
    problems: &mut Problems,
) -> Vec<(&'a DeTable<'i>, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for (k, v) in doc.iter() {
        let line = Some(lines.of(k.span().start));
        if k.get_ref().as_ref() != name {
            problems.push(Problem::text(
                line,
                k.get_ref().as_ref(),
                Text::new("file.unknown_table")
                    .arg("key", crate::limits::clip(k.get_ref(), 40))
                    .arg("table", name),
            ));
            continue;
        }
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => out.push((t, item.span())),
                        _ => problems.push(Problem::text(
                            Some(lines.of(item.span().start)),
                            name,
                            Text::new("file.not_table").arg("table", name),
                        )),
                    }
                }
            }
            // `[goal]` written for `[[goal]]`: one table, read as one.
            DeValue::Table(t) => out.push((t, v.span())),
            _ => problems.push(Problem::text(
                line,
                name,
                Text::new("file.not_table").arg("table", name),
            )),
        }
    }
    out
}

/// A value as the text a form would hold, or `None` when it is not text at all.
fn as_text(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        DeValue::Datetime(d) => match (d.date, d.time) {
            (Some(date), None) => Some(date.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// A key that is no field of the table, with the fields there are.
fn unknown_key(
    line: Option<usize>,
    key: String,
    index: usize,
    name: &str,
    fields: &[&str],
) -> Problem {
    Problem::text(
        line,
        key,
        Text::new("file.unknown_key")
            .arg("key", crate::limits::clip(name, 40))
            .arg(
                "known",
                Arg::List(fields.iter().map(|f| Arg::Plain((*f).into())).collect()),
            ),
    )
    .at(Some(index), None)
}

fn known_field(name: &str, known: &[&'static str]) -> Option<&'static str> {
    known.iter().copied().find(|k| *k == name)
}

pub(super) fn goals(text: &str, lines: &Lines, problems: &mut Problems) -> ReadGoals {
    let (doc, syntax) = parse(text, lines, problems);
    let found = tables(doc.get_ref(), "goal", lines, problems);
    let mut read = ReadGoals::default();
    if found.len() > MAX_GOALS {
        // Reported by the check from the count; the goals themselves are not read.
        read.drafts = vec![GoalDraft::default(); found.len()];
        return read;
    }
    let starts: Vec<usize> = found.iter().map(|(_, s)| s.start).collect();
    for (i, (table, span)) in found.iter().enumerate() {
        let index = i + 1;
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let mut unreadable = BTreeSet::new();
        if syntax.iter().any(|s| (span.start..end).contains(s)) {
            // A line of this goal could not be parsed: whatever it held is not "missing".
            unreadable.extend(GOAL_FIELDS);
        }
        let mut d = GoalDraft::default();
        for (k, v) in table.iter() {
            let name = k.get_ref().as_ref();
            let line = Some(lines.of(k.span().start));
            let key = format!("goal {index}.{name}");
            let Some(field) = known_field(name, &GOAL_FIELDS) else {
                problems.push(unknown_key(line, key, index, name, &GOAL_FIELDS));
                continue;
            };
            let value = v.get_ref();
            if field == "activities" {
                match value {
                    DeValue::Array(items) => {
                        for a in items.iter() {
                            match as_text(a.get_ref()) {
                                Some(t) => d.activities.push(t),
                                None => {
                                    unreadable.insert(field);
                                    problems.push(
                                        Problem::text(
                                            line,
                                            key.clone(),
                                            Text::new("file.not_text"),
                                        )
                                        .at(Some(index), Some(field)),
                                    );
                                }
                            }
                        }
                    }
                    other => match as_text(other) {
                        Some(t) => d.activities.push(t),
                        None => {
                            unreadable.insert(field);
                            problems.push(
                                Problem::text(line, key, Text::new("file.not_text"))
                                    .at(Some(index), Some(field)),
                            );
                        }
                    },
                }
                continue;
            }
            let Some(t) = as_text(value) else {
                unreadable.insert(field);
                let text = match value {
                    DeValue::Datetime(d) if field == "target_date" => {
                        Text::new("goal.date").arg("value", d.to_string())
                    }
                    _ => Text::new("file.not_text"),
                };
                problems.push(Problem::text(line, key, text).at(Some(index), Some(field)));
                continue;
            };
            let slot = match field {
                "title" => &mut d.title,
                "dimension" => &mut d.dimension,
                "kind" => &mut d.kind,
                "horizon" => &mut d.horizon,
                "weight" => &mut d.weight,
                "indicator" => &mut d.indicator,
                "baseline" => &mut d.baseline,
                "partly_met" => &mut d.partly_met,
                "fully_met" => &mut d.fully_met,
                "baseline_value" => &mut d.baseline_value,
                "partly_met_value" => &mut d.partly_met_value,
                "fully_met_value" => &mut d.fully_met_value,
                _ => &mut d.target_date,
            };
            *slot = t;
        }
        read.drafts.push(d);
        read.lines.push(Some(lines.of(span.start)));
        read.unreadable.push(unreadable);
    }
    read
}

pub(super) fn grades(
    text: &str,
    lines: &Lines,
    problems: &mut Problems,
) -> (Vec<GradeDraft>, Vec<Option<usize>>) {
    let (doc, _) = parse(text, lines, problems);
    let found = tables(doc.get_ref(), "grade", lines, problems);
    let mut drafts = Vec::new();
    let mut at = Vec::new();
    for (i, (table, span)) in found.iter().enumerate() {
        if problems.full() {
            problems.more += found.len() - i;
            break;
        }
        let index = i + 1;
        let mut g = GradeDraft::default();
        for (k, v) in table.iter() {
            let name = k.get_ref().as_ref();
            let line = Some(lines.of(k.span().start));
            let key = format!("grade {index}.{name}");
            let Some(field) = known_field(name, &GRADE_FIELDS) else {
                problems.push(unknown_key(line, key, index, name, &GRADE_FIELDS));
                continue;
            };
            let Some(t) = as_text(v.get_ref()) else {
                problems.push(
                    Problem::text(line, key, Text::new("file.not_text"))
                        .at(Some(index), Some(field)),
                );
                continue;
            };
            match field {
                "goal" => g.goal = t,
                "grade" => g.grade = t,
                _ => g.note = t,
            }
        }
        drafts.push(g);
        at.push(Some(lines.of(span.start)));
    }
    (drafts, at)
}
