//! The wheel definition: the phases' windows, the deadlines' rules, the reminders and the
//! calendar, as data (`config/wheel.toml`), checked when loaded.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use crate::business_days::{BusinessCalendar, ClosingDay};
use crate::calendar::{CycleRule, SUPPORTED_YEARS};
use crate::config_error::{self, ConfigError, Lines, Problems};
use crate::organisation::{Level, Party};
use crate::phase::{Deadline, Phase, list};

/// Viborg Kommune's wheel, as shipped in `config/wheel.toml`; built in so `hjul` works
/// from any directory.
pub const BUILTIN_WHEEL_TOML: &str = include_str!("../../../config/wheel.toml");

/// A whole wheel: when cycles run, the calendar, the phases, the deadlines, the reminders.
#[derive(Debug, Clone, PartialEq)]
pub struct WheelDefinition {
    /// Identifies this definition; a cycle records the version it started with.
    pub version: String,
    pub name: String,
    pub cycles: CycleRule,
    pub calendar: BusinessCalendar,
    pub mail_time: MailTime,
    pub reminders: ReminderRule,
    /// A unit that joins a running cycle owes a deadline no sooner than this many
    /// business days after the day it joined (`[cycle] join_grace_days`, default 20).
    pub join_grace_days: u32,
    phases: Vec<PhaseWindow>,
    deadlines: Vec<DeadlineRule>,
}

/// The default of `[cycle] join_grace_days`: four working weeks.
pub const DEFAULT_JOIN_GRACE_DAYS: u32 = 20;

/// When a phase is open, in quarters counted from the cycle's first (0), both inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseWindow {
    pub phase: Phase,
    pub name_da: String,
    pub name_en: String,
    pub first_quarter: u8,
    pub last_quarter: u8,
}

/// How one deadline works for the department or for some unit levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRule {
    pub deadline: Deadline,
    pub phase: Phase,
    /// The unit levels it applies to; empty for a department milestone.
    pub levels: Vec<Level>,
    pub responsible: Party,
    pub escalate_to: Party,
    /// Who gets the opening notice besides the responsible party.
    pub notify_on_open: Vec<Party>,
    /// Who signs what meets the deadline (the agreement: the superior by default).
    pub signed_by: Party,
    pub opens: Opens,
    pub due: Due,
}

impl DeadlineRule {
    pub fn applies_to(&self, level: Level) -> bool {
        self.levels.contains(&level)
    }
}

/// What opens a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opens {
    /// The first day of the cycle's quarter with this offset.
    QuarterStart(u8),
    /// The day the last of these deadlines was met.
    After(Vec<Deadline>),
    /// A follow-up: once in each of these quarters, on its first day, for a unit whose
    /// agreement was signed before that day. Due by the end of the same quarter.
    EachQuarter(Vec<u8>),
}

/// When a deadline is due, before moving it off a closed day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The last day of the cycle's quarter with this offset.
    EndOfQuarter(u8),
    /// This many calendar days after the deadline opened ("right after").
    DaysAfterOpening(u32),
    /// The last day of the quarter it opened in (the follow-ups).
    EndOfItsQuarter,
}

/// The local time mail goes out, and the zone it is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailTime {
    pub time: NaiveTime,
    pub zone: Tz,
}

/// The moments mail is due for an open deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRule {
    /// A notice the day the deadline opens.
    pub on_open: bool,
    /// Reminders this many calendar days before the due date, most distant first.
    pub days_before: Vec<u32>,
    /// The overdue notice, this many business days after the due date.
    pub overdue_business_days_after: u32,
    /// The escalation to the superior, this many calendar days after the due date.
    pub escalation_days_after: u32,
}

impl ReminderRule {
    /// How far ahead a deadline counts as "due soon" (the digest's list, and wherever
    /// else it is asked): from the first reminder, the most distant of `days_before`;
    /// 14 days when the wheel sends no reminders.
    pub fn soon_days(&self) -> u32 {
        self.days_before.iter().copied().max().unwrap_or(14)
    }
}

impl WheelDefinition {
    /// The built-in default (Viborg's wheel).
    pub fn builtin() -> Self {
        // The built-in file is checked by the tests; failing here is a build defect.
        #[allow(clippy::expect_used)]
        Self::from_toml(BUILTIN_WHEEL_TOML, "built-in wheel.toml")
            .expect("the built-in wheel definition is valid")
    }

    /// Parses and checks a definition; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let raw: RawDefinition = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            problems: vec![config_error::from_toml(text, &e)],
        })?;
        let mut problems = Problems::default();
        let def = check(&raw, text, &mut problems);
        problems.into_result(file, ())?;
        def.ok_or_else(|| ConfigError {
            file: file.to_owned(),
            problems: Vec::new(),
        })
    }

    pub fn phases(&self) -> &[PhaseWindow] {
        &self.phases
    }

    pub fn phase(&self, phase: Phase) -> Option<&PhaseWindow> {
        self.phases.iter().find(|p| p.phase == phase)
    }

    pub fn deadline_rules(&self) -> &[DeadlineRule] {
        &self.deadlines
    }

    /// The rule of a department milestone.
    pub fn milestone_rule(&self, deadline: Deadline) -> Option<&DeadlineRule> {
        self.deadlines
            .iter()
            .find(|r| r.deadline == deadline && r.levels.is_empty())
    }

    /// The rule of a unit deadline at `level`, if it applies there.
    pub fn unit_rule(&self, deadline: Deadline, level: Level) -> Option<&DeadlineRule> {
        self.deadlines
            .iter()
            .find(|r| r.deadline == deadline && r.applies_to(level))
    }

    /// The unit deadlines that apply at `level`, in definition order.
    pub fn unit_rules(&self, level: Level) -> impl Iterator<Item = &DeadlineRule> {
        self.deadlines.iter().filter(move |r| r.applies_to(level))
    }
}

// ---- the file's shape -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    version: Spanned<String>,
    name: String,
    cycle: Spanned<RawCycle>,
    #[serde(default)]
    calendar: Option<Spanned<RawCalendar>>,
    mail: Spanned<RawMail>,
    reminders: Spanned<RawReminders>,
    #[serde(default)]
    phase: Vec<Spanned<RawPhase>>,
    #[serde(default)]
    deadline: Vec<Spanned<RawDeadline>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCycle {
    anchor_year: i32,
    start_quarter: u8,
    length_quarters: u8,
    #[serde(default)]
    join_grace_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default)]
    closing_days: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    time: Spanned<String>,
    timezone: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReminders {
    on_open: bool,
    days_before: Vec<u32>,
    overdue_business_days_after: u32,
    escalation_days_after: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    key: Phase,
    name_da: String,
    name_en: String,
    window: RawWindow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    from: u8,
    to: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadline {
    key: Deadline,
    phase: Phase,
    #[serde(default)]
    levels: Option<Vec<u8>>,
    responsible: Party,
    #[serde(default)]
    escalate_to: Option<Party>,
    #[serde(default)]
    notify: Vec<Party>,
    #[serde(default)]
    signed_by: Option<Party>,
    #[serde(default)]
    opens: Option<RawOpens>,
    #[serde(default)]
    due: Option<RawDue>,
    /// A follow-up's quarters, instead of `opens` and `due`.
    #[serde(default)]
    every: Option<RawEvery>,
    /// A follow-up can be switched off with `enabled = false`.
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvery {
    quarters: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpens {
    quarter: Option<u8>,
    after: Option<Vec<Deadline>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDue {
    end_of_quarter: Option<u8>,
    days_after: Option<u32>,
}

// ---- checking -----------------------------------------------------------------------

/// Builds the definition, adding every problem found; returns `None` when a problem
/// leaves nothing sensible to build.
fn check(raw: &RawDefinition, text: &str, problems: &mut Problems) -> Option<WheelDefinition> {
    let lines = Lines::new(text);
    let line = |span: std::ops::Range<usize>| Some(lines.of(span.start));

    if raw.version.get_ref().trim().is_empty() {
        problems.add(
            line(raw.version.span()),
            "version",
            "is empty: give the definition a version (for example \"viborg-2025\"); each cycle records the version it started with",
        );
    }

    let cycle_line = line(raw.cycle.span());
    let c = raw.cycle.get_ref();
    if !(1..=4).contains(&c.start_quarter) {
        problems.add(
            cycle_line,
            "cycle.start_quarter",
            format!(
                "is {}: must be 1, 2, 3 or 4 (the calendar quarter in which cycles start)",
                c.start_quarter
            ),
        );
    }
    if c.length_quarters == 0 || !c.length_quarters.is_multiple_of(4) {
        problems.add(
            cycle_line,
            "cycle.length_quarters",
            format!(
                "is {}: must be a positive multiple of 4 (whole years), such as 8 for a two-year wheel",
                c.length_quarters
            ),
        );
    }
    if !SUPPORTED_YEARS.contains(&c.anchor_year) {
        problems.add(
            cycle_line,
            "cycle.anchor_year",
            format!(
                "is {}: must lie in {}–{}",
                c.anchor_year,
                SUPPORTED_YEARS.start(),
                SUPPORTED_YEARS.end()
            ),
        );
    }
    let join_grace_days = c.join_grace_days.unwrap_or(DEFAULT_JOIN_GRACE_DAYS);
    if join_grace_days > 250 {
        problems.add(
            cycle_line,
            "cycle.join_grace_days",
            format!(
                "is {join_grace_days}: must be at most 250 business days (about a year); the default is {DEFAULT_JOIN_GRACE_DAYS}"
            ),
        );
    }
    let cycles = CycleRule::new(c.anchor_year, c.start_quarter, c.length_quarters);
    let length = c.length_quarters;

    let mut closing_days = Vec::new();
    for day in raw.calendar.iter().flat_map(|c| &c.get_ref().closing_days) {
        match ClosingDay::parse(day.get_ref()) {
            Some(d) => closing_days.push(d),
            None => problems.add(
                line(day.span()),
                "calendar.closing_days",
                format!(
                    "`{}` is not a day of the year: write it MM-DD, such as \"12-24\"",
                    day.get_ref()
                ),
            ),
        }
    }

    let mail_time = check_mail(raw.mail.get_ref(), &line, problems);
    let reminders = check_reminders(&raw.reminders, &line, problems);
    let phases = check_phases(&raw.phase, length, &line, problems);
    let deadlines = check_deadlines(&raw.deadline, length, &line, problems);

    Some(WheelDefinition {
        version: raw.version.get_ref().trim().to_owned(),
        name: raw.name.clone(),
        cycles: cycles?,
        calendar: BusinessCalendar::new(closing_days),
        mail_time: mail_time?,
        reminders: reminders?,
        join_grace_days,
        phases,
        deadlines,
    })
}

type LineOf<'a> = dyn Fn(std::ops::Range<usize>) -> Option<usize> + 'a;

fn check_mail(raw: &RawMail, line: &LineOf<'_>, problems: &mut Problems) -> Option<MailTime> {
    let time = NaiveTime::parse_from_str(raw.time.get_ref(), "%H:%M").ok();
    if time.is_none() {
        problems.add(
            line(raw.time.span()),
            "mail.time",
            format!(
                "`{}` is not a time of day: write it HH:MM, such as \"08:00\"",
                raw.time.get_ref()
            ),
        );
    }
    let zone = raw.timezone.get_ref().parse::<Tz>().ok();
    if zone.is_none() {
        problems.add(
            line(raw.timezone.span()),
            "mail.timezone",
            format!(
                "`{}` is not a time zone: use an IANA name, such as \"Europe/Copenhagen\"",
                raw.timezone.get_ref()
            ),
        );
    }
    Some(MailTime {
        time: time?,
        zone: zone?,
    })
}

fn check_reminders(
    raw: &Spanned<RawReminders>,
    line: &LineOf<'_>,
    problems: &mut Problems,
) -> Option<ReminderRule> {
    let at = line(raw.span());
    let r = raw.get_ref();
    let before = problems.count();
    let mut days = r.days_before.clone();
    days.sort_unstable_by(|a, b| b.cmp(a));
    if days.contains(&0) {
        problems.add(
            at,
            "reminders.days_before",
            "contains 0: a reminder on the due date itself is not a reminder; use 1 or more",
        );
    }
    if days.windows(2).any(|w| w[0] == w[1]) {
        problems.add(at, "reminders.days_before", "names the same day twice");
    }
    if r.overdue_business_days_after == 0 {
        problems.add(
            at,
            "reminders.overdue_business_days_after",
            "is 0: a deadline is overdue from the business day after it, so use 1 or more",
        );
    }
    if r.escalation_days_after == 0 {
        problems.add(
            at,
            "reminders.escalation_days_after",
            "is 0: the escalation comes after the overdue notice, so use 1 or more",
        );
    }
    (problems.count() == before).then_some(ReminderRule {
        on_open: r.on_open,
        days_before: days,
        overdue_business_days_after: r.overdue_business_days_after,
        escalation_days_after: r.escalation_days_after,
    })
}

fn check_phases(
    raw: &[Spanned<RawPhase>],
    length: u8,
    line: &LineOf<'_>,
    problems: &mut Problems,
) -> Vec<PhaseWindow> {
    let mut seen: BTreeMap<Phase, Option<usize>> = BTreeMap::new();
    let mut phases = Vec::new();
    for p in raw {
        let at = line(p.span());
        let r = p.get_ref();
        let key = format!("phase.{}", r.key);
        if let Some(first) = seen.insert(r.key, at) {
            problems.add(
                at,
                &key,
                format!(
                    "is defined twice (also at line {}); keep one",
                    first.unwrap_or(0)
                ),
            );
            continue;
        }
        if r.window.to < r.window.from {
            problems.add(
                at,
                format!("{key}.window"),
                format!(
                    "ends (quarter {}) before it starts (quarter {}): `to` must be at least `from`",
                    r.window.to, r.window.from
                ),
            );
            continue;
        }
        if r.window.to >= length {
            problems.add(
                at,
                format!("{key}.window.to"),
                format!(
                    "is quarter {}, but a cycle has quarters 0 to {}",
                    r.window.to,
                    length.saturating_sub(1)
                ),
            );
            continue;
        }
        phases.push(PhaseWindow {
            phase: r.key,
            name_da: r.name_da.clone(),
            name_en: r.name_en.clone(),
            first_quarter: r.window.from,
            last_quarter: r.window.to,
        });
    }
    for phase in Phase::ALL {
        if !seen.contains_key(&phase) {
            problems.add(
                None,
                "phase",
                format!("`{phase}` is missing: the wheel has six phases and each needs a [[phase]] with its window"),
            );
        }
    }
    // Only meaningful when every window was read.
    if phases.len() == Phase::ALL.len() {
        for q in 0..length {
            if !phases
                .iter()
                .any(|p| (p.first_quarter..=p.last_quarter).contains(&q))
            {
                problems.add(
                    None,
                    "phase",
                    format!(
                        "quarter {q} of the cycle belongs to no phase: the wheel turns without gaps, so widen a window (the coherence agreement usually runs until the midway status)"
                    ),
                );
            }
        }
    }
    phases.sort_by_key(|p| p.phase);
    phases
}

fn check_deadlines(
    raw: &[Spanned<RawDeadline>],
    length: u8,
    line: &LineOf<'_>,
    problems: &mut Problems,
) -> Vec<DeadlineRule> {
    let mut rules = Vec::new();
    // (deadline, level or None for the department) → the line that defined it
    let mut defined: BTreeMap<(Deadline, Option<Level>), Option<usize>> = BTreeMap::new();
    let mut lines: Vec<Option<usize>> = Vec::new();

    for d in raw {
        let at = line(d.span());
        let r = d.get_ref();
        let levels = check_levels(r, at, problems);
        let key = describe(r.key, &levels);

        let slots: Vec<Option<Level>> = if r.key.is_milestone() {
            vec![None]
        } else {
            levels.iter().copied().map(Some).collect()
        };
        for slot in slots {
            if let Some(first) = defined.get(&(r.key, slot)) {
                let whom = slot.map_or("the department".to_owned(), |l| format!("level {l}"));
                problems.add(
                    at,
                    &key,
                    format!(
                        "is defined twice for {whom} (also at line {}); each level has one rule",
                        first.unwrap_or(0)
                    ),
                );
            } else {
                defined.insert((r.key, slot), at);
            }
        }

        let parties = std::iter::once(("responsible", r.responsible))
            .chain(r.escalate_to.map(|p| ("escalate_to", p)))
            .chain(r.notify.iter().map(|p| ("notify", *p)))
            .chain(r.signed_by.map(|p| ("signed_by", p)));
        if r.key.is_milestone() {
            for (field, p) in parties {
                if !p.is_department_wide() {
                    problems.add(
                        at,
                        format!("{key}.{field}"),
                        format!("is `{p}`, but {} is a department milestone with no unit: use \"secretariat\" or \"director\"", r.key),
                    );
                }
            }
        }

        if r.key.is_follow_up() && r.enabled == Some(false) {
            continue;
        }
        if !r.key.is_follow_up() && r.enabled.is_some() {
            problems.add(
                at,
                format!("{key}.enabled"),
                format!("{} is part of the wheel and cannot be switched off; only the follow-ups ({}) have `enabled`", r.key, list(&Deadline::FOLLOW_UPS)),
            );
        }
        let (opens, due) = if r.key.is_follow_up() {
            check_every(r, &key, length, at, problems)
        } else if r.every.is_some() {
            problems.add(
                at,
                format!("{key}.every"),
                format!("only the follow-ups ({}) recur within a cycle; {} happens once: use `opens` and `due`", list(&Deadline::FOLLOW_UPS), r.key),
            );
            (None, None)
        } else {
            let empty_opens = RawOpens {
                quarter: None,
                after: None,
            };
            let empty_due = RawDue {
                end_of_quarter: None,
                days_after: None,
            };
            let opens_raw = r.opens.as_ref().unwrap_or(&empty_opens);
            let due_raw = r.due.as_ref().unwrap_or(&empty_due);
            let opens = match (&opens_raw.quarter, &opens_raw.after) {
                (Some(q), None) => {
                    if *q >= length {
                        problems.add(
                            at,
                            format!("{key}.opens.quarter"),
                            format!(
                                "is {q}, but a cycle has quarters 0 to {}",
                                length.saturating_sub(1)
                            ),
                        );
                    }
                    Some(Opens::QuarterStart(*q))
                }
                (None, Some(after)) => {
                    if after.is_empty() {
                        problems.add(
                            at,
                            format!("{key}.opens.after"),
                            "is empty: name the deadlines whose meeting opens this one",
                        );
                    }
                    Some(Opens::After(after.clone()))
                }
                _ => {
                    problems.add(
                        at,
                        format!("{key}.opens"),
                        "needs exactly one of `quarter` (opens on the first day of that quarter) or `after` (opens when those deadlines are met)",
                    );
                    None
                }
            };
            let due = match (due_raw.end_of_quarter, due_raw.days_after) {
                (Some(q), None) => {
                    if q >= length {
                        problems.add(
                            at,
                            format!("{key}.due.end_of_quarter"),
                            format!(
                                "is {q}, but a cycle has quarters 0 to {}",
                                length.saturating_sub(1)
                            ),
                        );
                    }
                    if let Some(Opens::QuarterStart(o)) = opens
                        && q < o
                    {
                        problems.add(
                            at,
                            format!("{key}.due.end_of_quarter"),
                            format!("is quarter {q}, before the deadline opens in quarter {o}"),
                        );
                    }
                    Some(Due::EndOfQuarter(q))
                }
                (None, Some(days)) => {
                    if days == 0 {
                        problems.add(
                            at,
                            format!("{key}.due.days_after"),
                            "is 0: give the days after opening, 1 or more",
                        );
                    }
                    Some(Due::DaysAfterOpening(days))
                }
                _ => {
                    problems.add(
                        at,
                        format!("{key}.due"),
                        "needs exactly one of `end_of_quarter` (the last day of that quarter) or `days_after` (days after the deadline opens)",
                    );
                    None
                }
            };
            (opens, due)
        };
        // A rule with problems is still kept for the checks across rules below, so one
        // mistake is reported once rather than again by every rule that refers to it;
        // the definition as a whole is refused anyway.
        if let (Some(opens), Some(due)) = (opens, due) {
            lines.push(at);
            rules.push(DeadlineRule {
                deadline: r.key,
                phase: r.phase,
                levels,
                responsible: r.responsible,
                escalate_to: r.escalate_to.unwrap_or(r.responsible.superior()),
                notify_on_open: r.notify.clone(),
                signed_by: r.signed_by.unwrap_or(Party::Superior),
                opens,
                due,
            });
        }
    }

    for m in Deadline::MILESTONES {
        if !defined.contains_key(&(m, None)) {
            problems.add(
                None,
                "deadline",
                format!(
                    "`{m}` is missing: the department milestones {} each need a [[deadline]]",
                    list(&Deadline::MILESTONES)
                ),
            );
        }
    }

    let exists = |d: Deadline, level: Option<Level>| defined.contains_key(&(d, level));
    check_openers(&rules, &lines, &exists, problems);
    check_midway_has_agreement(&rules, &lines, &exists, problems);
    rules
}

/// A follow-up's `every = { quarters = [...] }`: quarters of the cycle, each once, in
/// order; `opens` and `due` follow from them.
fn check_every(
    r: &RawDeadline,
    key: &str,
    length: u8,
    at: Option<usize>,
    problems: &mut Problems,
) -> (Option<Opens>, Option<Due>) {
    if r.opens.is_some() || r.due.is_some() {
        problems.add(
            at,
            key,
            format!("{} recurs: give `every = {{ quarters = [...] }}` instead of `opens` and `due` (each time opens on the quarter's first day and is due on its last)", r.key),
        );
        return (None, None);
    }
    let Some(every) = &r.every else {
        problems.add(
            at,
            format!("{key}.every"),
            "is missing: name the quarters of the cycle it happens in, such as `every = { quarters = [4, 6] }`, or switch it off with `enabled = false`",
        );
        return (None, None);
    };
    let before = problems.count();
    if every.quarters.is_empty() {
        problems.add(
            at,
            format!("{key}.every.quarters"),
            "is empty: name at least one quarter, or switch it off with `enabled = false`",
        );
    }
    for q in &every.quarters {
        if *q >= length {
            problems.add(
                at,
                format!("{key}.every.quarters"),
                format!(
                    "names quarter {q}, but a cycle has quarters 0 to {}",
                    length.saturating_sub(1)
                ),
            );
        }
    }
    if every.quarters.windows(2).any(|w| w[0] >= w[1]) {
        problems.add(
            at,
            format!("{key}.every.quarters"),
            "must name each quarter once, in order, such as [4, 6]",
        );
    }
    if problems.count() != before {
        return (None, None);
    }
    (
        Some(Opens::EachQuarter(every.quarters.clone())),
        Some(Due::EndOfItsQuarter),
    )
}

fn check_levels(r: &RawDeadline, at: Option<usize>, problems: &mut Problems) -> Vec<Level> {
    let name = r.key;
    match (&r.levels, name.is_milestone()) {
        (Some(_), true) => {
            problems.add(
                at,
                format!("deadline.{name}.levels"),
                format!("{name} is a department milestone, met once for everyone: remove `levels`"),
            );
            Vec::new()
        }
        (None, true) => Vec::new(),
        (None, false) => {
            problems.add(
                at,
                format!("deadline.{name}"),
                "needs `levels`: the unit levels (2, 3 or 4) it applies to",
            );
            Vec::new()
        }
        (Some(levels), false) => {
            if levels.is_empty() {
                problems.add(
                    at,
                    format!("deadline.{name}.levels"),
                    "is empty: name the unit levels (2, 3 or 4) it applies to",
                );
            }
            let mut valid: Vec<Level> = Vec::new();
            for n in levels {
                match Level::new(*n) {
                    Some(l) if valid.contains(&l) => problems.add(
                        at,
                        format!("deadline.{name}.levels"),
                        format!("names level {n} twice"),
                    ),
                    Some(l) if l != Level::DIRECTOR => valid.push(l),
                    _ => problems.add(
                        at,
                        format!("deadline.{name}.levels"),
                        format!("level {n} has no unit deadlines: levels are 2 (chief), 3 (leader) and 4 (daycare house leader)"),
                    ),
                }
            }
            valid
        }
    }
}

fn describe(deadline: Deadline, levels: &[Level]) -> String {
    if levels.is_empty() {
        format!("deadline.{deadline}")
    } else {
        format!("deadline.{deadline} (levels {})", list(levels))
    }
}

/// Every `after` names a deadline that exists for the same unit levels, and no deadline
/// waits, directly or through others, on itself.
/// `exists` says whether a deadline is defined for the department (`None`) or a level,
/// counting rules that had problems of their own.
fn check_openers(
    rules: &[DeadlineRule],
    lines: &[Option<usize>],
    exists: &dyn Fn(Deadline, Option<Level>) -> bool,
    problems: &mut Problems,
) {
    for (rule, at) in rules.iter().zip(lines) {
        let Opens::After(after) = &rule.opens else {
            continue;
        };
        let key = format!("{}.opens.after", describe(rule.deadline, &rule.levels));
        for dep in after {
            if *dep == rule.deadline {
                problems.add(
                    *at,
                    &key,
                    format!("{dep} waits for itself, so it would never open"),
                );
                continue;
            }
            if dep.is_milestone() {
                if !exists(*dep, None) {
                    problems.add(
                        *at,
                        &key,
                        format!("waits for {dep}, which this definition does not have"),
                    );
                }
            } else if rule.levels.is_empty() {
                problems.add(
                    *at,
                    &key,
                    format!("waits for {dep}, a unit's deadline, but {} is the department's: it cannot wait for one unit", rule.deadline),
                );
            } else {
                let missing: Vec<Level> = rule
                    .levels
                    .iter()
                    .copied()
                    .filter(|l| !exists(*dep, Some(*l)))
                    .collect();
                if !missing.is_empty() {
                    problems.add(
                        *at,
                        &key,
                        format!("waits for {dep}, which does not apply to level {}: it would never open there", list(&missing)),
                    );
                }
            }
        }
    }

    // Circular waits between different deadlines: a depth-first search over the
    // deadline names (levels do not matter, a wait at any level is a wait).
    let edges: BTreeMap<Deadline, BTreeSet<Deadline>> =
        rules.iter().fold(BTreeMap::new(), |mut m, r| {
            if let Opens::After(after) = &r.opens {
                m.entry(r.deadline)
                    .or_default()
                    .extend(after.iter().filter(|d| **d != r.deadline));
            }
            m
        });
    let mut reported = BTreeSet::new();
    for start in edges.keys() {
        if let Some(path) = find_cycle(*start, &edges)
            && reported.insert(path.iter().copied().collect::<BTreeSet<_>>())
        {
            let at = rules
                .iter()
                .zip(lines)
                .find(|(r, _)| r.deadline == *start)
                .and_then(|(_, l)| *l);
            let shown: Vec<&str> = path.iter().map(|d| d.key()).collect();
            problems.add(
                at,
                format!("deadline.{start}.opens.after"),
                format!(
                    "waits in a circle ({} → {start}): none of them would ever open",
                    shown.join(" → ")
                ),
            );
        }
    }
}

fn find_cycle(
    start: Deadline,
    edges: &BTreeMap<Deadline, BTreeSet<Deadline>>,
) -> Option<Vec<Deadline>> {
    fn walk(
        node: Deadline,
        start: Deadline,
        edges: &BTreeMap<Deadline, BTreeSet<Deadline>>,
        path: &mut Vec<Deadline>,
    ) -> bool {
        path.push(node);
        for next in edges.get(&node).into_iter().flatten() {
            if *next == start {
                return true;
            }
            if !path.contains(next) && walk(*next, start, edges, path) {
                return true;
            }
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(start, start, edges, &mut path).then_some(path)
}

fn check_midway_has_agreement(
    rules: &[DeadlineRule],
    lines: &[Option<usize>],
    exists: &dyn Fn(Deadline, Option<Level>) -> bool,
    problems: &mut Problems,
) {
    for (rule, at) in rules.iter().zip(lines) {
        if rule.deadline != Deadline::MidwayStatus && !rule.deadline.is_follow_up() {
            continue;
        }
        let without: Vec<Level> = rule
            .levels
            .iter()
            .copied()
            .filter(|l| !exists(Deadline::AgreementSigned, Some(*l)))
            .collect();
        if !without.is_empty() {
            problems.add(
                *at,
                format!("{}.levels", describe(rule.deadline, &rule.levels)),
                format!(
                    "level {} has no agreement_signed deadline, and {} follows a signed agreement up",
                    list(&without),
                    rule.deadline
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests;
