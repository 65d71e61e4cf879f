//! The dispatcher: drains the outbox. Everything due to one person goes in one mail (at
//! most one a day); an item is marked sent only after the server accepted the mail; a
//! failure to connect or a 4xx is tried again later with a growing wait; a 5xx, or too
//! many failures, makes the items dead letters and tells the secretariat.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use hjul_mail::message::{build, message_id};
use hjul_mail::{
    CycleEnded, Digest, Failure, Item, Mail, MailError, MailKind, MailSettings, Outgoing,
    Recipient, Rendered, SendError, Sender, Templates,
};
use hjul_store::{
    Acting, Addressee, Directory, ItemId, ItemPayload, NewItem, OutboxItem, OutboxKind,
    SentEntries, SentMark,
};
use hjul_wheel::reminders::mail_instant;
use hjul_wheel::{Deadline, Party, Task};
use serde::Serialize;

use crate::{Fault, Scheduler, SchedulerError};

/// One mail that went out.
#[derive(Debug, Clone, Serialize)]
pub struct SentMail {
    pub at: DateTime<Utc>,
    pub to: String,
    pub kind: MailKind,
    pub message_id: String,
    pub items: Vec<Item>,
    pub subject: String,
    /// The plain-text part, as its reader sees it.
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DispatchReport {
    pub sent: Vec<SentMail>,
    /// Items that failed and wait for another try.
    pub retried: usize,
    /// Items given up on.
    pub dead: usize,
    /// Items held for the next mail day: their recipient already had today's mail.
    pub postponed: usize,
    /// Items left for now: another instance holds their recipient's lease, or sent them.
    pub busy: usize,
}

/// The mail kind of an outbox kind: every kind the outbox holds is one a mail can say.
fn mail_kind(kind: OutboxKind) -> MailKind {
    match kind {
        OutboxKind::Opened => MailKind::Opened,
        OutboxKind::Reminder => MailKind::Reminder,
        OutboxKind::Overdue => MailKind::Overdue,
        OutboxKind::Escalation => MailKind::Escalation,
        OutboxKind::Digest => MailKind::Digest,
        OutboxKind::DeadLetter => MailKind::DeadLetter,
        OutboxKind::CycleEnded => MailKind::CycleEnded,
        OutboxKind::Withdrawn => MailKind::Withdrawn,
        OutboxKind::TakenOver => MailKind::TakenOver,
    }
}

/// An item's payload, read as what its kind holds. An item whose payload hjul cannot
/// read is not sent with a guess: it becomes a dead letter, and the secretariat is told.
fn payload<T: serde::de::DeserializeOwned>(item: &OutboxItem) -> Result<T, String> {
    let text = item.payload.as_deref().unwrap_or("null");
    serde_json::from_str(text).map_err(|e| {
        format!(
            "outbox item {} ({}) cannot be read: {e}; it was not sent",
            item.key, item.kind
        )
    })
}

/// Where in a list of `n` an instance starts: spread by its name (FNV-1a, stable across
/// runs and platforms).
fn start_of(instance: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let hash = instance.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
}

/// The calendar event's SEQUENCE, from the versions of the entry sent before (read for the
/// batch, and added to as its mails go).
fn sequence(item: &OutboxItem, sent: &SentEntries) -> u32 {
    let (Some(cycle), Some(deadline), Some(due)) = (item.cycle, item.deadline, item.due_on) else {
        return 0;
    };
    let mut entries = sent
        .get(&(cycle, item.unit_id.clone(), deadline))
        .cloned()
        .unwrap_or_default();
    // Each time of a follow-up is its own calendar entry (see `calendar::uid`).
    if deadline.is_follow_up() {
        entries.retain(|(d, _)| *d == due);
    }
    hjul_mail::calendar::sequence(&entries, (due, item.kind == OutboxKind::Withdrawn))
}

/// The (cycle, unit, deadline) of a calendar entry an item may carry.
fn entry_of(item: &OutboxItem) -> Option<(i32, Option<String>, Deadline)> {
    Some((item.cycle?, item.unit_id.clone(), item.deadline?))
}

/// The calendar entries a mail's items send a version of (an escalation is about
/// someone else's entry), with the version: its due date, and whether it withdraws.
type Version = ((i32, Option<String>, Deadline), (NaiveDate, bool));

fn versions(items: &[OutboxItem]) -> Vec<Version> {
    items
        .iter()
        .filter(|i| i.kind != OutboxKind::Escalation)
        .filter_map(|i| Some((entry_of(i)?, (i.due_on?, i.kind == OutboxKind::Withdrawn))))
        .collect()
}

/// Whether any of `items` numbers its calendar entry after one of `versions`.
fn reads_any(items: &[OutboxItem], versions: &[Version]) -> bool {
    items
        .iter()
        .filter_map(entry_of)
        .any(|e| versions.iter().any(|(v, _)| *v == e))
}

/// One person's mail, made and written.
struct Made {
    to: Addressee,
    /// The items it carries.
    items: Vec<OutboxItem>,
    /// Its Message-ID.
    id: String,
    written: Written,
}

/// A mail in words and as MIME. A mail that cannot be built as MIME (`message`) is
/// given up on; a template that cannot render stops the dispatch.
struct Written {
    mail: Mail,
    rendered: Rendered,
    message: Result<Outgoing, MailError>,
}

/// Writes a mail: its words, calendar file and MIME.
fn write(
    templates: &Templates,
    settings: &MailSettings,
    signature: &str,
    mail: Mail,
    id: &str,
    (today, now): (NaiveDate, DateTime<Utc>),
) -> Result<Written, MailError> {
    let rendered = templates.render(&mail, signature, today)?;
    let ics = hjul_mail::calendar::ics(&mail.items, mail.to.language, now);
    let message = build(settings, &mail, &rendered, ics, id, now).map(|m| Outgoing::from(&m));
    Ok(Written {
        mail,
        rendered,
        message,
    })
}

/// The lease under which one instance at a time writes to a person.
fn lease_of(email: &str) -> String {
    format!("mail:{email}")
}

/// Recipients claimed at once: one lease statement, one read of what is pending, of who
/// had today's mail and of the calendar entries sent, per this many mails.
const CLAIM: usize = 64;

/// One person's mail: the address, and the items it carries.
type Group = (String, (Addressee, Vec<OutboxItem>));

/// What a batch of recipients' mails is made from, read once under their leases.
struct Batch<'a> {
    dir: &'a Directory,
    themes: &'a BTreeMap<i32, Vec<String>>,
    /// Items still pending: another instance may have sent the rest since they were read.
    pending: HashSet<ItemId>,
    /// Who had today's mail already.
    had_mail: HashSet<String>,
    /// The calendar entries sent so far, for each mail's SEQUENCE.
    sent: SentEntries,
    start_of_today: DateTime<Utc>,
    /// The municipality's date: whose deputies are in force.
    today: NaiveDate,
    next_mail_day: DateTime<Utc>,
    /// Mails the server accepted that are not yet marked sent, and since when.
    marks: Vec<SentMark>,
    unmarked_since: Option<std::time::Instant>,
}

/// How long a mail the server accepted may wait to be marked sent with the next ones: the
/// crash window, in which a process killed leaves mail that goes again.
const MARK_WITHIN: std::time::Duration = std::time::Duration::from_millis(250);

impl Scheduler {
    /// Who a party of a unit is on `day`: a new leader gets the mail of their unit, and
    /// a deputy in force gets their leader's.
    fn addressee(
        &self,
        dir: &Directory,
        party: Party,
        unit_id: Option<&str>,
        day: NaiveDate,
    ) -> Addressee {
        self.acting(dir, party, unit_id, day).to
    }

    /// [`Self::addressee`], with the leader a deputy stands in for.
    fn acting(
        &self,
        dir: &Directory,
        party: Party,
        unit_id: Option<&str>,
        day: NaiveDate,
    ) -> Acting {
        let s = &self.settings.secretariat;
        let secretariat = || Acting {
            to: Addressee {
                email: s.email.clone(),
                name: s.name.clone(),
                language: s.language,
            },
            stands_in_for: None,
        };
        let (unit_id, up) = match party {
            Party::Secretariat => return secretariat(),
            Party::Director => (dir.root_id(), 0),
            Party::Leader => (unit_id, 0),
            Party::Superior => (unit_id, 1),
            Party::SuperiorOfSuperior => (unit_id, 2),
        };
        // Past the top of the chain there is no one: the secretariat hears of it.
        unit_id
            .and_then(|u| dir.acting(u, up, day))
            .unwrap_or_else(secretariat)
    }

    /// Who gets a copy of a mail to `to` carrying `items`: the leader a deputy stands in
    /// for, when the setting says so (`[scheduler] deputy_copies_leader`).
    fn copies(
        &self,
        dir: &Directory,
        to: &Addressee,
        items: &[OutboxItem],
        day: NaiveDate,
    ) -> Vec<Recipient> {
        if !self.settings.deputy_copies_leader {
            return Vec::new();
        }
        // Only when every item of the mail is the one leader's: a copy never shows a
        // leader another unit's or the deputy's own items (those go without a copy), and
        // an item addressed to a person by name is theirs alone.
        let mut leaders = items.iter().map(|item| {
            item.to_email.as_ref().map_or_else(
                || {
                    self.acting(dir, item.party, item.unit_id.as_deref(), day)
                        .stands_in_for
                },
                |_| None,
            )
        });
        let Some(Some(leader)) = leaders.next() else {
            return Vec::new();
        };
        if leader.email == to.email || !leaders.all(|l| l.is_some_and(|l| l.email == leader.email))
        {
            return Vec::new();
        }
        vec![Recipient {
            email: leader.email,
            name: leader.name,
            language: leader.language,
        }]
    }

    fn mail_item(
        &self,
        (dir, day): (&Directory, NaiveDate),
        item: &OutboxItem,
        sequence: u32,
        themes: &[String],
    ) -> Result<Item, String> {
        // Items written before payloads were kept have none.
        let payload: ItemPayload = match item.payload {
            None => ItemPayload::default(),
            Some(_) => payload(item)?,
        };
        let kind = mail_kind(item.kind);
        // Whose deadline it is (escalation), who has it now (withdrawn), who had it
        // (taken over).
        let responsible = match kind {
            MailKind::TakenOver => payload.from.clone(),
            MailKind::Escalation | MailKind::Withdrawn => payload
                .responsible
                .map(|p| self.addressee(dir, p, item.unit_id.as_deref(), day).name),
            _ => None,
        };
        // A deputy's own item: the leader they stand in for (not on an item addressed
        // to a person by name, which is that person's own).
        let deputy_for = item
            .to_email
            .is_none()
            .then(|| self.acting(dir, item.party, item.unit_id.as_deref(), day))
            .and_then(|a| a.stands_in_for)
            .map(|l| l.name);
        let task = payload.task;
        let unit_id = item.unit_id.as_deref();
        // Whose dialogue to hold, whose agreement to sign: the leader's name on anyone
        // else's item about their unit.
        let leader = unit_id
            .filter(|_| item.party != Party::Leader)
            .and_then(|u| dir.leader(u, 0))
            .map(|a| a.name);
        let dialogue = matches!(task, Some(Task::HoldDialogue | Task::AttendDialogue));
        let mut mail_item = Item {
            key: item.key.clone(),
            kind,
            cycle: item.cycle,
            unit_id: item.unit_id.clone(),
            unit_name: match unit_id {
                Some(u) => dir.unit_name(u).unwrap_or(u).to_owned(),
                None => self.settings.department_name.clone(),
            },
            deadline: item.deadline,
            due: item.due_on,
            days_before: item.days_before,
            responsible,
            task,
            leader,
            deputy_for,
            link: None,
            themes: if dialogue {
                themes.to_vec()
            } else {
                Vec::new()
            },
            sequence,
            data_gaps: Vec::new(),
        };
        mail_item.link = self
            .settings
            .web_url
            .as_deref()
            .map(|web| hjul_mail::content::link(web, &mail_item));
        Ok(mail_item)
    }

    /// On the secretariat's items about the data collection (not on escalations or
    /// withdrawals): the measures still lacking units' values for the cycle's
    /// pre-analysis, read now so each reminder says how far it has come.
    async fn data_gaps(
        &self,
        item: &Item,
    ) -> Result<Vec<hjul_wheel::data::DataGap>, SchedulerError> {
        let (Some(Deadline::DataCollected), Some(cycle)) = (item.deadline, item.cycle) else {
            return Ok(Vec::new());
        };
        if !matches!(
            item.kind,
            MailKind::Opened | MailKind::Reminder | MailKind::Overdue
        ) {
            return Ok(Vec::new());
        }
        let Ok(plan) = self.store.wheel().definition.cycle(cycle) else {
            return Ok(Vec::new());
        };
        Ok(self.store.data_gaps(plan.cycle().starts()).await?)
    }

    /// The focus themes of each cycle these items belong to, as published.
    async fn themes(
        &self,
        items: &[OutboxItem],
    ) -> Result<BTreeMap<i32, Vec<String>>, SchedulerError> {
        let mut out = BTreeMap::new();
        for cycle in items.iter().filter_map(|i| i.cycle) {
            if let std::collections::btree_map::Entry::Vacant(e) = out.entry(cycle) {
                let themes = self
                    .store
                    .milestones(cycle)
                    .await?
                    .into_iter()
                    .find(|m| m.milestone == Deadline::ThemesPublished)
                    .map(|m| m.themes)
                    .unwrap_or_default();
                e.insert(themes);
            }
        }
        Ok(out)
    }

    /// Sends what is due by `now`.
    pub async fn dispatch(
        &self,
        sender: &Sender,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, SchedulerError> {
        let mut report = DispatchReport::default();
        let due = self.store.due_items(now, self.settings.batch).await?;
        if due.is_empty() {
            return Ok(report);
        }
        let def = &self.store.wheel().definition;
        let zone = def.mail_time.zone;
        let today = now.with_timezone(&zone).date_naive();
        let start_of_today = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map_or(now, |t| t.with_timezone(&Utc));
        let next_mail_day = mail_instant(def.mail_time, def.calendar.after(today));
        // Mail goes out on business days from the mail time on: what falls due at a
        // weekend, a holiday or in the night waits for the next such moment.
        let todays_mail = mail_instant(def.mail_time, today);
        if !def.calendar.is_business_day(today) || now < todays_mail {
            let until = if def.calendar.is_business_day(today) {
                todays_mail
            } else {
                next_mail_day
            };
            let ids: Vec<ItemId> = due.iter().map(|i| i.id).collect();
            self.store.postpone(&ids, until).await?;
            report.postponed = ids.len();
            return Ok(report);
        }
        let dir = self.store.directory().await?;
        let themes = self.themes(&due).await?;

        let mut groups: BTreeMap<String, (Addressee, Vec<OutboxItem>)> = BTreeMap::new();
        for item in due {
            let to = addressed(&item).unwrap_or_else(|| {
                self.addressee(&dir, item.party, item.unit_id.as_deref(), today)
            });
            groups
                .entry(to.email.clone())
                .or_insert_with(|| (to, Vec::new()))
                .1
                .push(item);
        }

        // Each instance starts at its own place in the list of recipients, so instances
        // dispatching at once mostly take different people instead of queueing for the
        // same leases in the same order.
        // Of these people only (an index read each), not everyone mailed today.
        let emails: Vec<String> = groups.keys().cloned().collect();
        let had_mail_today = self.store.had_mail_among(&emails, start_of_today).await?;
        let mut groups: Vec<Group> = groups.into_iter().collect();
        let start = start_of(&self.instance, groups.len());
        groups.rotate_left(start);
        let (waiting, groups): (Vec<Group>, Vec<Group>) = groups
            .into_iter()
            .partition(|(email, _)| had_mail_today.contains(email));
        let ids: Vec<ItemId> = waiting
            .iter()
            .flat_map(|(_, (_, items))| items.iter().map(|i| i.id))
            .collect();
        if !ids.is_empty() {
            self.store.postpone(&ids, next_mail_day).await?;
            report.postponed += ids.len();
        }
        let mut groups = groups.into_iter().peekable();
        while groups.peek().is_some() {
            let chunk: Vec<Group> = groups.by_ref().take(CLAIM).collect();
            self.send_batch(
                sender,
                now,
                (&dir, &themes),
                chunk,
                (start_of_today, next_mail_day),
                &mut report,
            )
            .await?;
        }
        Ok(report)
    }

    /// Claims the leases of a batch of recipients in one statement and sends each of
    /// them their mail; lets go of the leases after, even after a failure (if this
    /// process dies instead, they run out).
    async fn send_batch(
        &self,
        sender: &Sender,
        now: DateTime<Utc>,
        read: (&Directory, &BTreeMap<i32, Vec<String>>),
        chunk: Vec<Group>,
        (start_of_today, next_mail_day): (DateTime<Utc>, DateTime<Utc>),
        report: &mut DispatchReport,
    ) -> Result<(), SchedulerError> {
        let names: Vec<String> = chunk.iter().map(|(email, _)| lease_of(email)).collect();
        let held = self
            .store
            .try_leases(&names, &self.instance, self.settings.lease)
            .await?;
        let (mine, others): (Vec<Group>, Vec<Group>) = chunk
            .into_iter()
            .partition(|(email, _)| held.contains(&lease_of(email)));
        report.busy += others
            .iter()
            .map(|(_, (_, items))| items.len())
            .sum::<usize>();
        if mine.is_empty() {
            return Ok(());
        }
        let held: Vec<String> = mine.iter().map(|(email, _)| lease_of(email)).collect();
        tracing::debug!(recipients = held.len(), "sending a batch");
        let sent = self
            .send_held(
                sender,
                now,
                read,
                mine,
                (start_of_today, next_mail_day),
                report,
            )
            .await;
        self.store.release_leases(&held, &self.instance).await?;
        sent
    }

    /// Sends the mail of recipients whose leases this instance holds. Under the leases,
    /// what is still pending and who had today's mail are read again: another instance
    /// may have sent since `due` was read.
    async fn send_held(
        &self,
        sender: &Sender,
        now: DateTime<Utc>,
        (dir, themes): (&Directory, &BTreeMap<i32, Vec<String>>),
        mine: Vec<Group>,
        (start_of_today, next_mail_day): (DateTime<Utc>, DateTime<Utc>),
        report: &mut DispatchReport,
    ) -> Result<(), SchedulerError> {
        let ids: Vec<ItemId> = mine
            .iter()
            .flat_map(|(_, (_, items))| items.iter().map(|i| i.id))
            .collect();
        let emails: Vec<String> = mine.iter().map(|(email, _)| email.clone()).collect();
        let entries: Vec<(i32, Option<String>, Deadline)> = mine
            .iter()
            .flat_map(|(_, (_, items))| items.iter().filter_map(entry_of))
            .collect();
        let mut batch = Batch {
            dir,
            themes,
            pending: self.store.still_pending(&ids).await?,
            had_mail: self.store.had_mail_among(&emails, start_of_today).await?,
            sent: self.store.sent_entries_of(&entries).await?,
            start_of_today,
            today: now
                .with_timezone(&self.store.wheel().definition.mail_time.zone)
                .date_naive(),
            next_mail_day,
            marks: Vec::new(),
            unmarked_since: None,
        };
        let sent = self.send_each(sender, now, &mut batch, mine, report).await;
        // What the server accepted is marked sent before the leases are let go, after a
        // failure too. (A process killed cannot: that is the crash window the fault
        // harness counts. The injected fault stops before its own mail is kept here.)
        self.mark(&mut batch).await?;
        sent
    }

    /// Sends each person's mail in turn. While one mail waits for the server's answers,
    /// the next is made and written (two thirds of the dispatcher's own time): its items
    /// are read as the batch stands, counting the calendar entries of the mail going as
    /// sent, taken back if it is not. (Writing on a thread of its own was measured and
    /// was slower: each hand-over costs a thread's wake-up, about what writing costs.)
    async fn send_each(
        &self,
        sender: &Sender,
        now: DateTime<Utc>,
        batch: &mut Batch<'_>,
        mine: Vec<Group>,
        report: &mut DispatchReport,
    ) -> Result<(), SchedulerError> {
        let claimed = std::time::Instant::now();
        let slow = || claimed.elapsed() > self.settings.lease / 2;
        let mut groups = mine.into_iter();
        let mut next: Option<Made> = None;
        loop {
            let made = match next.take() {
                // Made while the mail before went, and the lease's half time has not
                // passed since: as it would be made now.
                Some(made) if !slow() => Some(made),
                Some(made) => {
                    self.make_in_turn(now, batch, slow(), made.to, made.items, report)
                        .await?
                }
                None => {
                    let Some((_, (to, items))) = groups.next() else {
                        break;
                    };
                    self.make_in_turn(now, batch, slow(), to, items, report)
                        .await?
                }
            };
            let Some(made) = made else { continue };
            // Marks wait for the batch's end, or until the oldest has waited
            // `MARK_WITHIN` when the next mail starts.
            if batch
                .unmarked_since
                .is_some_and(|t| t.elapsed() >= MARK_WITHIN)
            {
                self.mark(batch).await?;
            }
            let Made {
                to,
                items,
                id,
                written:
                    Written {
                        mail,
                        rendered,
                        message,
                    },
            } = made;
            let message = match message {
                Ok(message) => message,
                // This person's mail cannot be made (an address the mail library refuses,
                // on record from before addresses were checked as it checks them): their
                // items go dead and the secretariat is told; everyone else's mail goes on.
                Err(error) => {
                    tracing::warn!(to = %to.email, %error, "mail cannot be built; its items are dead letters");
                    self.give_up(&mail, &items, &error.to_string(), now).await?;
                    report.dead += items.len();
                    continue;
                }
            };
            // The next mail about the same calendar entry numbers after this one.
            let versions = versions(&items);
            for (entry, version) in &versions {
                batch.sent.entry(entry.clone()).or_default().push(*version);
            }
            let (outcome, following) = {
                let batch: &Batch<'_> = batch;
                let report = &mut *report;
                let groups = &mut groups;
                tokio::join!(sender.send(&message, &id, now), async move {
                    // Past the lease's half time the next mail is made in turn, after
                    // its lease is renewed.
                    if slow() {
                        return Ok(None);
                    }
                    match groups.next() {
                        Some((_, (to, items))) => self.make(now, batch, to, items, report).await,
                        None => Ok(None),
                    }
                })
            };
            let sent = outcome.is_ok();
            if !sent {
                for (entry, _) in &versions {
                    if let Some(list) = batch.sent.get_mut(entry) {
                        list.pop();
                    }
                }
            }
            self.sent_or_not(
                outcome,
                now,
                batch,
                (to.email, items, id),
                (mail, rendered),
                report,
            )
            .await?;
            next = following?;
            // The next mail counted this one's calendar entries as sent: made again.
            if let Some(made) = next.take_if(|n| !sent && reads_any(&n.items, &versions)) {
                next = self.make(now, batch, made.to, made.items, report).await?;
            }
        }
        Ok(())
    }

    /// Makes the next person's mail when it is their turn. Past half the lease's time,
    /// every mail is marked before the next exchange (which may stall), so no lease of a
    /// person whose mail went runs out while it is unmarked, and each lease is renewed
    /// before its mail. One that ran out may have been another instance's meanwhile,
    /// which may have sent: what is still pending and whether they had today's mail are
    /// read again.
    async fn make_in_turn(
        &self,
        now: DateTime<Utc>,
        batch: &mut Batch<'_>,
        slow: bool,
        to: Addressee,
        items: Vec<OutboxItem>,
        report: &mut DispatchReport,
    ) -> Result<Option<Made>, SchedulerError> {
        if slow {
            self.mark(batch).await?;
            if !self
                .store
                .try_lease(&lease_of(&to.email), &self.instance, self.settings.lease)
                .await?
            {
                report.busy += items.len();
                return Ok(None);
            }
            let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
            let pending = self.store.still_pending(&ids).await?;
            batch
                .pending
                .retain(|id| !ids.contains(id) || pending.contains(id));
            if self
                .store
                .had_mail_since(&to.email, batch.start_of_today)
                .await?
            {
                batch.had_mail.insert(to.email.clone());
            }
        }
        self.make(now, batch, to, items, report).await
    }

    /// Marks the batch's accepted mails sent, in one transaction.
    async fn mark(&self, batch: &mut Batch<'_>) -> Result<(), SchedulerError> {
        self.store.mark_sent_many(&batch.marks).await?;
        batch.marks.clear();
        batch.unmarked_since = None;
        Ok(())
    }

    /// Makes one person's mail from those of their items still pending, and starts
    /// writing it. `None`: nothing of theirs goes now (another instance sent it, it waits
    /// for the next mail day, or none of it could be read).
    async fn make(
        &self,
        now: DateTime<Utc>,
        batch: &Batch<'_>,
        to: Addressee,
        items: Vec<OutboxItem>,
        report: &mut DispatchReport,
    ) -> Result<Option<Made>, SchedulerError> {
        let email = to.email.clone();
        let before = items.len();
        let items: Vec<OutboxItem> = items
            .into_iter()
            .filter(|i| batch.pending.contains(&i.id))
            .collect();
        report.busy += before - items.len();
        // A withdrawal held back past the day it withdraws (a weekend, the day's mail
        // already gone) has nothing left to cancel: it is dropped, not sent to say so.
        let today = now
            .with_timezone(&self.store.wheel().definition.mail_time.zone)
            .date_naive();
        let (stale, items): (Vec<OutboxItem>, Vec<OutboxItem>) = items
            .into_iter()
            .partition(|i| i.kind == OutboxKind::Withdrawn && i.due_on.is_none_or(|d| d < today));
        if !stale.is_empty() {
            let ids: Vec<ItemId> = stale.iter().map(|i| i.id).collect();
            self.store.void(&ids).await?;
        }
        if items.is_empty() {
            return Ok(None);
        }
        if batch.had_mail.contains(&email) {
            let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
            self.store.postpone(&ids, batch.next_mail_day).await?;
            report.postponed += ids.len();
            return Ok(None);
        }
        let mut mail = Mail {
            to: Recipient {
                email: to.email.clone(),
                name: to.name.clone(),
                language: to.language,
            },
            items: Vec::new(),
            digest: None,
            ended: Vec::new(),
            failures: Vec::new(),
            web: self.settings.web_url.clone(),
            cc: self.copies(batch.dir, &to, &items, batch.today),
        };
        let mut unreadable = Vec::new();
        for item in &items {
            match self.add_to(&mut mail, batch, item).await? {
                Ok(()) => {}
                Err(reason) => unreadable.push((item.clone(), reason)),
            }
        }
        let items = if unreadable.is_empty() {
            items
        } else {
            self.unreadable(&email, &unreadable, now).await?;
            report.dead += unreadable.len();
            let gone: Vec<ItemId> = unreadable.iter().map(|(i, _)| i.id).collect();
            let rest: Vec<OutboxItem> = items
                .into_iter()
                .filter(|i| !gone.contains(&i.id))
                .collect();
            if rest.is_empty() {
                return Ok(None);
            }
            rest
        };
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let id = message_id(&keys, &self.mail.from);
        let written = write(
            &self.templates,
            &self.mail,
            &self.settings.secretariat.name,
            mail,
            &id,
            (today, now),
        )?;
        Ok(Some(Made {
            to,
            items,
            id,
            written,
        }))
    }

    /// Records what came of sending one person's mail.
    async fn sent_or_not(
        &self,
        outcome: Result<(), SendError>,
        now: DateTime<Utc>,
        batch: &mut Batch<'_>,
        (email, items, id): (String, Vec<OutboxItem>, String),
        (mail, rendered): (Mail, Rendered),
        report: &mut DispatchReport,
    ) -> Result<(), SchedulerError> {
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        match outcome {
            Ok(()) => {
                if self.fault == Some(Fault::AfterSend) {
                    return Err(SchedulerError::InjectedFault(
                        "after sending, before marking sent",
                    ));
                }
                batch.marks.push(SentMark {
                    ids: ids.clone(),
                    recipient: email.clone(),
                    message_id: id.clone(),
                    at: now,
                    subject: rendered.subject.clone(),
                    text: rendered.text.clone(),
                });
                batch
                    .unmarked_since
                    .get_or_insert_with(std::time::Instant::now);
                batch.had_mail.insert(email.clone());
                tracing::info!(to = %email, kind = mail.kind().key(), items = ids.len(), "mail sent");
                report.sent.push(SentMail {
                    at: now,
                    to: email,
                    kind: mail.kind(),
                    message_id: id,
                    items: mail.items,
                    subject: rendered.subject,
                    text: rendered.text,
                });
            }
            Err(SendError::Transient(error)) => {
                let attempts = items.iter().map(|i| i.attempts).max().unwrap_or(0) + 1;
                if u32::try_from(attempts).unwrap_or(u32::MAX) >= self.settings.max_attempts {
                    tracing::warn!(to = %email, %error, attempts, "giving up after repeated failures");
                    self.give_up(
                        &mail,
                        &items,
                        &format!("{attempts} attempts failed; the last: {error}"),
                        now,
                    )
                    .await?;
                    report.dead += ids.len();
                } else {
                    let wait = self.settings.retry_after
                        * 2u32.saturating_pow(u32::try_from(attempts - 1).unwrap_or(0).min(10));
                    let next = now
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    tracing::warn!(to = %email, %error, attempts, retry_at = %next, "mail not accepted, will try again");
                    self.store.mark_retry(&ids, &error, next).await?;
                    report.retried += ids.len();
                }
            }
            Err(SendError::Permanent(error)) => {
                tracing::warn!(to = %email, %error, "mail refused by the server");
                self.give_up(&mail, &items, &error, now).await?;
                report.dead += ids.len();
            }
        }
        Ok(())
    }

    /// Puts one item into the mail. `Err` says why it cannot be read; nothing is added.
    async fn add_to(
        &self,
        mail: &mut Mail,
        batch: &Batch<'_>,
        item: &OutboxItem,
    ) -> Result<Result<(), String>, SchedulerError> {
        let dir = batch.dir;
        Ok(match item.kind {
            OutboxKind::Digest => payload::<Digest>(item).map(|d| mail.digest = Some(d)),
            OutboxKind::DeadLetter => payload::<Failure>(item).map(|f| mail.failures.push(f)),
            OutboxKind::CycleEnded => payload::<CycleEnded>(item).map(|mut ended| {
                for i in &mut ended.unmet {
                    i.unit_name = match i.unit_id.as_deref() {
                        Some(u) => dir.unit_name(u).unwrap_or(u).to_owned(),
                        None => self.settings.department_name.clone(),
                    };
                }
                mail.ended.push(ended);
            }),
            OutboxKind::Opened
            | OutboxKind::Reminder
            | OutboxKind::Overdue
            | OutboxKind::Escalation
            | OutboxKind::Withdrawn
            | OutboxKind::TakenOver => {
                let sequence = sequence(item, &batch.sent);
                let themes = item
                    .cycle
                    .and_then(|c| batch.themes.get(&c))
                    .map_or(&[][..], Vec::as_slice);
                match self.mail_item((dir, batch.today), item, sequence, themes) {
                    Ok(mut i) => {
                        i.data_gaps = self.data_gaps(&i).await?;
                        mail.items.push(i);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        })
    }

    /// Items whose stored content hjul cannot read: dead letters, each told to the
    /// secretariat with the reason (a notice of its own is always readable).
    async fn unreadable(
        &self,
        to: &str,
        items: &[(OutboxItem, String)],
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        for (item, reason) in items {
            tracing::warn!(key = %item.key, %reason, "outbox item cannot be read; it is a dead letter");
            let notice = NewItem::to_secretariat(
                format!("dead:{}", item.id),
                OutboxKind::DeadLetter,
                now,
                serde_json::to_string(&Failure {
                    to: to.to_owned(),
                    error: reason.clone(),
                    items: Vec::new(),
                    item: Some(item.key.clone()),
                })?,
            );
            self.store
                .mark_dead(&[item.id], reason, Some(notice), now)
                .await?;
        }
        Ok(())
    }

    /// Dead letters, and a notice to the secretariat (not for a notice itself, which
    /// would loop).
    async fn give_up(
        &self,
        mail: &Mail,
        items: &[OutboxItem],
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        let is_notice = items.iter().all(|i| i.kind == OutboxKind::DeadLetter);
        let notice = (!is_notice).then(|| -> Result<NewItem, SchedulerError> {
            let failure = Failure {
                to: mail.to.email.clone(),
                error: error.to_owned(),
                items: mail.items.clone(),
                item: None,
            };
            Ok(NewItem::to_secretariat(
                format!(
                    "dead:{}",
                    ids.first().map(ToString::to_string).unwrap_or_default()
                ),
                OutboxKind::DeadLetter,
                now,
                serde_json::to_string(&failure)?,
            ))
        });
        let notice = notice.transpose()?;
        self.store.mark_dead(&ids, error, notice, now).await?;
        Ok(())
    }
}

/// The person an item is addressed to by name, if it is (a cancellation of the entries
/// they got, after the deadlines moved to someone else).
fn addressed(item: &OutboxItem) -> Option<Addressee> {
    Some(Addressee {
        email: item.to_email.clone()?,
        name: item.to_name.clone().unwrap_or_default(),
        language: item.to_language.unwrap_or(hjul_wheel::Language::Da),
    })
}

#[cfg(test)]
mod tests {
    use super::start_of;

    #[test]
    fn instances_start_at_different_recipients() {
        assert_eq!(start_of("any", 0), 0);
        assert_eq!(start_of("any", 1), 0);
        let starts: std::collections::BTreeSet<usize> = (0..3)
            .map(|i| start_of(&format!("host:{}:a1b2c3d4", 4000 + i), 1000))
            .collect();
        assert_eq!(starts.len(), 3, "{starts:?}");
        assert!(starts.iter().all(|s| *s < 1000));
        // The same name, the same place: a restarted round does not jump about.
        assert_eq!(start_of("host:1:x", 1000), start_of("host:1:x", 1000));
    }
}
