//! `hjul simulate`: the same tick and the same grouping on a virtual clock, day by day
//! at the mail time, over a scratch copy, capturing the mail instead of sending it.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hjul_mail::{MailKind, Sender};
use hjul_store::OutboxKind;
use hjul_wheel::Deadline;
use hjul_wheel::reminders::mail_instant;
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
            // One overdue item is written per deadline, the day it passes.
            for c in tick
                .created
                .iter()
                .filter(|c| c.kind == OutboxKind::Overdue)
            {
                out.transitions.push(Transition::DeadlineOverdue {
                    at,
                    unit_id: c.unit_id.clone(),
                    deadline: c.deadline,
                    due: c.due,
                });
            }
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
