//! `hjul simulate`: the same tick and the same grouping on a virtual clock, day by day
//! at the mail time, over a scratch copy, capturing the mail instead of sending it.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hjul_mail::{MailKind, Sender};
use hjul_wheel::reminders::mail_instant;
use hjul_wheel::{Deadline, DeadlineState};
use serde::Serialize;

use crate::{Scheduler, SchedulerError};

#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    pub messages: Vec<SimulatedMail>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimulatedMail {
    pub at: DateTime<Utc>,
    pub to: String,
    /// The most pressing kind of its items.
    pub kind: MailKind,
    pub items: Vec<SimulatedItem>,
    pub subject: String,
    /// The plain-text part, as its reader would see it.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimulatedItem {
    pub unit_id: Option<String>,
    pub deadline: Option<Deadline>,
    pub due: Option<NaiveDate>,
    pub kind: MailKind,
}

/// A state change the ticks made.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transition {
    CycleStarted {
        at: DateTime<Utc>,
        cycle: i32,
    },
    DeadlineOverdue {
        at: DateTime<Utc>,
        unit_id: Option<String>,
        deadline: Option<Deadline>,
        due: Option<NaiveDate>,
    },
}

/// A deadline past its due date and not met: (unit, deadline, due date).
type Overdue = (Option<String>, Deadline, Option<NaiveDate>);

/// The deadlines overdue on `day` in the cycles the tick mails (the running one and the
/// one before), as the wheel judges them: what the status shows, whether or not a mail
/// goes out about it.
async fn overdue_on(
    scheduler: &Scheduler,
    day: NaiveDate,
) -> Result<BTreeSet<Overdue>, SchedulerError> {
    let def = &scheduler.store().wheel().definition;
    let current = def.cycles.cycle_containing(day).year();
    let mut out = BTreeSet::new();
    for year in [current - def.cycles.every_years(), current] {
        let state = scheduler.store().cycle_state(year).await?;
        if !state.started {
            continue;
        }
        let plan = state.definition.cycle(year)?;
        let mut add = |unit: Option<&str>, status: &hjul_wheel::DeadlineStatus| {
            if matches!(status.state(day), DeadlineState::Overdue { .. }) {
                out.insert((unit.map(str::to_owned), status.deadline, status.due));
            }
        };
        for status in plan.milestone_deadlines(&state.milestones) {
            add(None, &status);
        }
        for unit in &state.units {
            for status in plan.unit_deadlines(unit.level, &state.milestones, &unit.facts) {
                add(Some(&unit.id), &status);
            }
        }
    }
    Ok(out)
}

/// Runs `scheduler` (which must stand on a scratch copy) over the days `from..=to`,
/// calling `progress(day, days)` after each day.
pub async fn simulate(
    scheduler: &Scheduler,
    from: NaiveDate,
    to: NaiveDate,
    mut progress: impl FnMut(usize, usize),
) -> Result<Simulation, SchedulerError> {
    let sender = Sender::Capture(Arc::new(std::sync::Mutex::new(Vec::new())));
    let def = scheduler.store().wheel().definition.clone();
    let zone = def.mail_time.zone;
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let mut out = Simulation {
        messages: Vec::new(),
        transitions: Vec::new(),
    };
    // What was overdue before the first day is not news on it.
    let mut overdue = match from.pred_opt() {
        Some(before) => overdue_on(scheduler, before).await?,
        None => BTreeSet::new(),
    };
    for (n, day) in days.iter().enumerate() {
        // The moments of a day: the mail time, and the digest's (if it is another).
        let mut instants = BTreeSet::new();
        instants.insert(mail_instant(def.mail_time, *day));
        if let Some(digest) = &scheduler.settings().digest {
            let start = day
                .and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(zone).earliest());
            if let Some(start) = start {
                for t in digest.after(&start).take_while(|t| t.date_naive() == *day) {
                    instants.insert(t.with_timezone(&Utc));
                }
            }
        }
        for at in instants {
            let (tick, dispatch) = scheduler.run_once(&sender, at).await?;
            if let Some(cycle) = tick.started_cycle {
                out.transitions.push(Transition::CycleStarted { at, cycle });
            }
            // A deadline goes overdue the day after it was due, whether or not a mail
            // says so (the midway status, due on a cycle's last day, gets none).
            let now_overdue = overdue_on(scheduler, *day).await?;
            for (unit_id, deadline, due) in now_overdue.difference(&overdue) {
                out.transitions.push(Transition::DeadlineOverdue {
                    at,
                    unit_id: unit_id.clone(),
                    deadline: Some(*deadline),
                    due: *due,
                });
            }
            overdue = now_overdue;
            for mail in dispatch.sent {
                out.messages.push(SimulatedMail {
                    at: mail.at,
                    to: mail.to,
                    kind: mail.kind,
                    items: mail
                        .items
                        .iter()
                        .map(|i| SimulatedItem {
                            unit_id: i.unit_id.clone(),
                            deadline: i.deadline,
                            due: i.due,
                            kind: i.kind,
                        })
                        .collect(),
                    subject: mail.subject,
                    text: mail.text,
                });
            }
        }
        progress(n + 1, days.len());
    }
    Ok(out)
}
