//! The tick: from the clock and the records, which mail items are due. It starts a cycle
//! whose first day has come, and writes new outbox items with unique keys, so however
//! often (and in however many processes) it runs, each item exists once.
//!
//! Catch-up comes from the same rule: of the moments that have passed for a deadline,
//! each party gets the latest one (a passed reminder gives way to the overdue notice);
//! the earlier ones are written as folded, so they never go out later.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use hjul_mail::{CycleEnded, Digest, Item, MailKind};
use hjul_store::{Looked, NewItem, OutboxKind, OutboxState, StatusFilter, Watched};
use hjul_wheel::mail_plan::{self, DueItem, ItemState};
use hjul_wheel::reminders::{MomentKind, mail_instant};
use hjul_wheel::{Deadline, DeadlineStatus};
use serde::Serialize;

use crate::{Scheduler, SchedulerError};

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    pub at: DateTime<Utc>,
    /// The cycle this tick started, if it started one.
    pub started_cycle: Option<i32>,
    /// Items written now (pending and folded).
    pub created: Vec<CreatedItem>,
    /// How many units' facts the tick read: every active unit on a process's first tick,
    /// then only those that changed or whose mail moment came.
    pub units_read: usize,
    /// How many units' next mail moment the tick wrote (it had changed, or the unit had).
    pub moments_kept: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedItem {
    pub key: String,
    pub kind: OutboxKind,
    pub state: OutboxState,
    pub unit_id: Option<String>,
    pub deadline: Option<Deadline>,
    pub due: Option<NaiveDate>,
}

/// An outbox row for one item the wheel's mail plan calls for. The payload keeps what
/// the recipient is to do and whose deadline it is, as decided when it was written.
fn new_item(year: i32, unit_id: Option<&str>, item: DueItem) -> NewItem {
    NewItem {
        key: item.key,
        cycle: Some(year),
        unit_id: unit_id.map(str::to_owned),
        deadline: Some(item.deadline),
        kind: OutboxKind::of(item.kind),
        days_before: match item.kind {
            MomentKind::Reminder { days_before } => i32::try_from(days_before).ok(),
            _ => None,
        },
        party: item.party,
        due_on: Some(item.due),
        due_at: item.at,
        state: match item.state {
            ItemState::Pending => OutboxState::Pending,
            ItemState::Folded => OutboxState::Folded,
        },
        payload: Some(
            hjul_store::ItemPayload {
                responsible: Some(item.responsible),
                task: Some(item.task),
                from: None,
            }
            .json(),
        ),
        to: None,
    }
}

impl Scheduler {
    /// One tick at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, SchedulerError> {
        let def = &self.store.wheel().definition;
        let today = now.with_timezone(&def.mail_time.zone).date_naive();
        let stamp = self.stamp(now);
        let current = def.cycles.cycle_containing(today).year();
        let previous = current - def.cycles.every_years();
        let years = [previous, current];
        self.load_known(&years).await?;
        // A deputy's turn that ended cancels the entries they got; so does a deputy's
        // step in, for a leader who gets no copy of their mail.
        self.store
            .move_deputies_entries(self.settings.deputy_copies_leader, &stamp)
            .await?;

        // The first tick of this process reads every unit, as after downtime; the ones
        // after it read the units that changed or whose mail moment has come.
        let full = !self.swept.load(Ordering::Acquire);
        let mut items = Vec::new();
        let mut met = Vec::new();
        let mut looked = Vec::new();
        let mut missing = Vec::new();
        let mut units_read = 0;
        let mut starts = false;
        let mut ended = Vec::new();
        for year in years {
            // The cycle, its rules and milestones first: whether its units are read at all.
            let mut state = self.store.cycle_state_of(year, Some(&[])).await?;
            // The running cycle starts on its first day: this tick starts it, in the
            // transaction that writes its first mail. A past cycle hjul never ran has
            // nobody waiting for its mail.
            if !state.started {
                if year == current {
                    starts = true;
                } else {
                    continue;
                }
            }
            let def = state.definition.clone();
            let plan = def.cycle(year)?;
            // Mail is about the present: a cycle that has ended gets none, and what it
            // left unmet is told to the secretariat once.
            if !mail_plan::cycle_is_mailed(&plan.cycle(), today) {
                ended.push(year);
                if let Some(item) = self.cycle_ended(year, &plan, now).await? {
                    items.push(item);
                }
                continue;
            }
            // The rows to look at, read before the facts: a change committed after this
            // read leaves its row with a new revision, which the tick then does not mark
            // as looked at (`hjul_store::Looked`).
            let watched: HashMap<String, Watched> = self
                .store
                .watched(year, (!full).then_some(now))
                .await?
                .into_iter()
                .map(|w| (w.unit_id.clone(), w))
                .collect();
            if full || !state.started {
                state = self.store.cycle_state_of(year, None).await?;
            } else if !watched.is_empty() {
                let ids: Vec<String> = watched.keys().cloned().collect();
                state = self.store.cycle_state_of(year, Some(&ids)).await?;
            }
            units_read += state.units.len();
            let mut consider = |unit_id: Option<&str>, status: &DeadlineStatus| {
                if status.met_on.is_some() {
                    // A follow-up's time met voids that time's mail only.
                    let time = status
                        .deadline
                        .is_follow_up()
                        .then_some(status.due)
                        .flatten();
                    met.push((year, unit_id.map(str::to_owned), status.deadline, time));
                } else {
                    items.extend(
                        mail_plan::due_items(&def, year, unit_id, status, now)
                            .into_iter()
                            .map(|i| new_item(year, unit_id, i)),
                    );
                }
            };
            for status in plan.milestone_deadlines(&state.milestones) {
                consider(None, &status);
            }
            for unit in &state.units {
                let mut next: Option<DateTime<Utc>> = None;
                for status in plan.unit_deadlines(unit.level, &state.milestones, &unit.facts) {
                    consider(Some(&unit.id), &status);
                    let moment = mail_plan::next_moment(&def, &status, now);
                    next = match (next, moment) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                match watched.get(&unit.id) {
                    Some(w) if !w.keeps(next) => looked.push(Looked {
                        cycle: year,
                        unit_id: unit.id.clone(),
                        revision: w.revision,
                        next,
                    }),
                    Some(_) => {}
                    // Only a full read sees units without a row; a started cycle has one
                    // for every active unit unless a migration was cut short.
                    None if state.started => missing.push((year, unit.id.clone())),
                    None => {}
                }
            }
        }
        if let Some(digest) = self.digest_due(now, today).await? {
            items.push(digest);
        }

        let new: Vec<NewItem> = {
            let known = self.known.lock().await;
            items
                .into_iter()
                .filter(|i| !known.contains(&i.key))
                .collect()
        };
        let created = new
            .iter()
            .map(|i| CreatedItem {
                key: i.key.clone(),
                kind: i.kind,
                state: i.state,
                unit_id: i.unit_id.clone(),
                deadline: i.deadline,
                due: i.due_on,
            })
            .collect();
        let keys: Vec<String> = new.iter().map(|i| i.key.clone()).collect();
        let started = self
            .store
            .write_tick(
                new,
                &met,
                &ended,
                &looked,
                now,
                starts.then_some((current, &stamp)),
            )
            .await?;
        self.known.lock().await.extend(keys);
        for year in years {
            let ids: Vec<String> = missing
                .iter()
                .filter(|(y, _)| *y == year)
                .map(|(_, id)| id.clone())
                .collect();
            if !ids.is_empty() {
                tracing::warn!(
                    year,
                    units = ids.len(),
                    "standing rows were missing; built them"
                );
                self.store.build_standing(year, &ids).await?;
            }
        }
        self.swept.store(true, Ordering::Release);
        Ok(TickReport {
            at: now,
            started_cycle: started.then_some(current),
            created,
            units_read,
            moments_kept: looked.len(),
        })
    }

    /// The note to the secretariat that a cycle has ended, with what it left unmet, once
    /// (its key is the cycle's).
    async fn cycle_ended(
        &self,
        year: i32,
        plan: &hjul_wheel::CyclePlan<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<NewItem>, SchedulerError> {
        let key = format!("cycle-ended:{year}");
        if self.known.lock().await.contains(&key) {
            return Ok(None);
        }
        // Once a cycle: then every unit is read.
        let state = self.store.cycle_state_of(year, None).await?;
        let item = |unit_id: Option<&str>, status: &DeadlineStatus| Item {
            key: format!(
                "{}:{}:{}",
                state.year,
                unit_id.unwrap_or("-"),
                status.deadline.key()
            ),
            kind: MailKind::CycleEnded,
            cycle: Some(state.year),
            unit_id: unit_id.map(str::to_owned),
            // Filled in with the unit's name when the mail is made.
            unit_name: String::new(),
            deadline: Some(status.deadline),
            due: status.due,
            days_before: None,
            responsible: None,
            task: None,
            leader: None,
            deputy_for: None,
            link: None,
            themes: Vec::new(),
            sequence: 0,
            data_gaps: vec![],
        };
        let mut unmet: Vec<Item> = plan
            .milestone_deadlines(&state.milestones)
            .iter()
            .filter(|s| s.met_on.is_none())
            .map(|s| item(None, s))
            .collect();
        for unit in &state.units {
            for s in plan.unit_deadlines(unit.level, &state.milestones, &unit.facts) {
                // A late joiner's deadlines due before it joined were never its.
                if s.met_on.is_none() && s.before_joining.is_none() {
                    unmet.push(item(Some(&unit.id), &s));
                }
            }
        }
        let total = unmet.len();
        unmet.truncate(CycleEnded::LISTED);
        let note = CycleEnded {
            year: state.year,
            ended_on: plan.cycle().ends(),
            unmet,
            total,
        };
        Ok(Some(NewItem::to_secretariat(
            key,
            OutboxKind::CycleEnded,
            now,
            serde_json::to_string(&note)?,
        )))
    }

    /// Loads the outbox keys of these cycles, once per process.
    async fn load_known(&self, years: &[i32]) -> Result<(), SchedulerError> {
        let mut loaded = self.loaded.lock().await;
        let missing: Vec<i32> = years
            .iter()
            .copied()
            .filter(|y| !loaded.contains(y))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let keys = self.store.outbox_keys(&missing).await?;
        self.known.lock().await.extend(keys);
        loaded.extend(missing);
        Ok(())
    }

    /// The secretariat's digest, when its latest moment has come: Monday 08:00 by
    /// default, the next business day when that is closed. Missed digests are not
    /// caught up one by one: the latest goes, with today's figures.
    async fn digest_due(
        &self,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Option<NewItem>, SchedulerError> {
        let Some(schedule) = &self.settings.digest else {
            return Ok(None);
        };
        let def = &self.store.wheel().definition;
        let zone = def.mail_time.zone;
        let local_now = now.with_timezone(&zone);
        let since = local_now - chrono::Duration::days(8);
        let Some(last) = schedule
            .after(&since)
            .take_while(|t| *t <= local_now)
            .last()
        else {
            return Ok(None);
        };
        let date = last.date_naive();
        let at = if def.calendar.is_business_day(date) {
            last.with_timezone(&Utc)
        } else {
            mail_instant(def.mail_time, def.calendar.after(date))
        };
        if at > now {
            return Ok(None);
        }
        let key = format!("digest:{date}");
        if self.known.lock().await.contains(&key) {
            return Ok(None);
        }
        let digest = self.digest(today).await?;
        Ok(Some(NewItem::to_secretariat(
            key,
            OutboxKind::Digest,
            at,
            serde_json::to_string(&digest)?,
        )))
    }

    /// What is overdue, what falls due soon (within the first reminder's days,
    /// `[reminders] days_before` in wheel.toml), and units per step: from the same
    /// standing rows as the status list, by the same rules.
    pub async fn digest(&self, today: NaiveDate) -> Result<Digest, SchedulerError> {
        let rows = self
            .store
            .status(
                today,
                &StatusFilter::default(),
                Some(&self.settings.secretariat.email),
            )
            .await?;
        let soon_days = self.store.wheel().definition.reminders.soon_days();
        let item = |r: &hjul_store::StatusRow, kind| {
            r.next_deadline.map(|n| Item {
                key: format!("{}:{}", r.unit_id, n.deadline),
                kind,
                cycle: Some(r.cycle),
                unit_id: Some(r.unit_id.clone()),
                unit_name: r.name.clone(),
                deadline: Some(n.deadline),
                due: Some(n.due),
                days_before: None,
                responsible: Some(r.responsible.clone()),
                task: None,
                leader: None,
                deputy_for: None,
                link: None,
                themes: Vec::new(),
                sequence: 0,
                data_gaps: vec![],
            })
        };
        let overdue = rows
            .iter()
            .filter(|r| r.overdue_days > 0)
            .filter_map(|r| item(r, MailKind::Overdue))
            .collect();
        let due_soon = rows
            .iter()
            .filter(|r| {
                r.next_deadline
                    .is_some_and(|n| n.is_due_soon(today, soon_days))
            })
            .filter_map(|r| item(r, MailKind::Reminder))
            .collect();
        let mut steps: BTreeMap<hjul_wheel::Step, usize> = BTreeMap::new();
        for r in &rows {
            if let Some(s) = r.step {
                *steps.entry(s).or_default() += 1;
            }
        }
        Ok(Digest {
            date: today,
            overdue,
            due_soon,
            soon_days,
            steps: steps
                .into_iter()
                .map(|(s, n)| (s.key().to_owned(), n))
                .collect(),
        })
    }
}
