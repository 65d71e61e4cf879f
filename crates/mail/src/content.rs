//! What a mail says, before it is put into words: who it is for and the items it
//! carries. One mail gathers everything due to one person on one day.

use chrono::{Datelike, NaiveDate, Weekday};
use hjul_wheel::{Deadline, Language, Task};
use serde::{Deserialize, Serialize};

pub use hjul_wheel::names::{deadline_name, step_name};

/// The kinds of item, least pressing first: a mail's subject comes from the most
/// pressing kind it carries, and its sections come in the opposite order. The reader's
/// own deadlines come before what they are told for their information: an overdue
/// deadline of their own outranks a colleague's escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Digest,
    /// A cycle has ended: what it left unmet, told to the secretariat once.
    CycleEnded,
    /// A deadline that is no longer the reader's to act on: its calendar entry is
    /// cancelled.
    Withdrawn,
    /// Deadlines the reader takes over from someone who had them (a new leader, a
    /// deputy stepping in, a leader back after a deputy's turn): each in their calendar
    /// if it lies ahead.
    TakenOver,
    Opened,
    Escalation,
    Reminder,
    Overdue,
    DeadLetter,
}

impl MailKind {
    pub const ALL: [MailKind; 9] = [
        MailKind::Digest,
        MailKind::CycleEnded,
        MailKind::Withdrawn,
        MailKind::TakenOver,
        MailKind::Opened,
        MailKind::Escalation,
        MailKind::Reminder,
        MailKind::Overdue,
        MailKind::DeadLetter,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Digest => "digest",
            Self::CycleEnded => "cycle_ended",
            Self::Withdrawn => "withdrawn",
            Self::TakenOver => "taken_over",
            Self::Opened => "opened",
            Self::Reminder => "reminder",
            Self::Overdue => "overdue",
            Self::Escalation => "escalation",
            Self::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == text)
    }
}

/// A person to write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub language: Language,
}

/// One thing a mail tells about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The outbox key: unique, and the seed of the Message-ID.
    pub key: String,
    pub kind: MailKind,
    pub cycle: Option<i32>,
    pub unit_id: Option<String>,
    pub unit_name: String,
    /// The deadline, if the item is about one.
    pub deadline: Option<Deadline>,
    pub due: Option<NaiveDate>,
    pub days_before: Option<i32>,
    /// For escalations: whose deadline it is (their name); for a withdrawn deadline: who
    /// acts on it now; for one taken over: who had it.
    pub responsible: Option<String>,
    /// What the recipient is to do (for an escalation: what the late one is to do).
    #[serde(default)]
    pub task: Option<Task>,
    /// The name of the unit's leader, on an item for someone else (their superior):
    /// whose dialogue to hold, whose agreement to sign.
    #[serde(default)]
    pub leader: Option<String>,
    /// On an item a deputy gets: the leader they stand in for (their name).
    #[serde(default)]
    pub deputy_for: Option<String>,
    /// Where it is done: the page on the dashboard, when hjul knows its address.
    #[serde(default)]
    pub link: Option<String>,
    /// The cycle's focus themes, on dialogue items once they are published.
    #[serde(default)]
    pub themes: Vec<String>,
    /// The calendar event's SEQUENCE: the version of this deadline's entry, counted from
    /// the entries mails already carried (`calendar::sequence`).
    pub sequence: u32,
    /// On the data collection's items to the secretariat: the measures still lacking
    /// units' values, read when the mail is written.
    #[serde(default)]
    pub data_gaps: Vec<hjul_wheel::data::DataGap>,
}

/// The secretariat's Monday digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub date: NaiveDate,
    pub overdue: Vec<Item>,
    pub due_soon: Vec<Item>,
    /// How many days ahead `due_soon` looks (`ReminderRule::soon_days`); a digest kept
    /// before it was named looked 14 days ahead.
    #[serde(default = "fourteen")]
    pub soon_days: u32,
    /// (step key, units at it)
    pub steps: Vec<(String, usize)>,
}

fn fourteen() -> u32 {
    14
}

/// A cycle that has ended, and what it left unmet: told to the secretariat once, since
/// nobody is mailed about an ended cycle again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleEnded {
    pub year: i32,
    pub ended_on: NaiveDate,
    /// The unmet deadlines (the first [`CycleEnded::LISTED`]).
    pub unmet: Vec<Item>,
    /// How many there were in all.
    pub total: usize,
}

impl CycleEnded {
    /// A mail lists this many; the rest are in `hjul status` and on the dashboard.
    pub const LISTED: usize = 200;
}

/// A mail that could not be delivered, told to the secretariat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub to: String,
    pub error: String,
    pub items: Vec<Item>,
    /// The outbox key of an item hjul could not read (then `items` is empty): not a
    /// delivery that failed, so no address to correct.
    #[serde(default)]
    pub item: Option<String>,
}

/// One mail to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Recipient,
    pub items: Vec<Item>,
    pub digest: Option<Digest>,
    pub ended: Vec<CycleEnded>,
    pub failures: Vec<Failure>,
    /// The dashboard's address (`[web] url`), for links; none, no links.
    pub web: Option<String>,
    /// Who gets a copy: the leaders a deputy's mail stands in for.
    pub cc: Vec<Recipient>,
}

impl Mail {
    /// The most pressing kind of what the mail carries.
    pub fn kind(&self) -> MailKind {
        let mut kind = self.items.iter().map(|i| i.kind).max();
        if self.digest.is_some() {
            kind = kind.max(Some(MailKind::Digest));
        }
        if !self.ended.is_empty() {
            kind = kind.max(Some(MailKind::CycleEnded));
        }
        if !self.failures.is_empty() {
            kind = Some(MailKind::DeadLetter);
        }
        kind.unwrap_or(MailKind::Digest)
    }

    /// The outbox keys this mail carries.
    pub fn keys(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.key.as_str()).collect()
    }
}

/// The dashboard page where an item's task is done, under the site's address `web`
/// (`https://hjul.kommune.dk`, with or without a trailing slash).
pub fn link(web: &str, item: &Item) -> String {
    let base = web.trim_end_matches('/');
    let path = match (item.unit_id.as_deref(), item.task) {
        (Some(unit), task) => {
            let unit = urlencoding(unit);
            match (item.kind, task) {
                (MailKind::Escalation | MailKind::Withdrawn, _) | (_, None) => {
                    format!("/units/{unit}")
                }
                (_, Some(Task::SubmitAgreement)) => format!("/units/{unit}/agreement"),
                (_, Some(Task::GiveMidway)) => format!("/units/{unit}/midway"),
                // The follow-ups' forms are on the unit page.
                (_, Some(Task::GiveGoalStatus)) => format!("/units/{unit}#goal-status-heading"),
                (_, Some(Task::ReviewAgreement)) => format!("/units/{unit}#review-heading"),
                (_, Some(_)) => format!("/units/{unit}"),
            }
        }
        // The department's milestones are recorded on the cycles page.
        (None, _) => "/admin/cycles".to_owned(),
    };
    format!("{base}{path}")
}

/// A unit id as one path segment: ids are letters, digits, `-`, `_` and `.` (the
/// organisation file's rule), but a link is never the place to find out otherwise.
fn urlencoding(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A date written out: "tirsdag den 30. juni 2026", "Tuesday 30 June 2026".
pub fn long_date(d: NaiveDate, language: Language) -> String {
    const DA_MONTHS: [&str; 12] = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ];
    const EN_MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let m = d.month0() as usize;
    match language {
        Language::Da => {
            let day = match d.weekday() {
                Weekday::Mon => "mandag",
                Weekday::Tue => "tirsdag",
                Weekday::Wed => "onsdag",
                Weekday::Thu => "torsdag",
                Weekday::Fri => "fredag",
                Weekday::Sat => "lørdag",
                Weekday::Sun => "søndag",
            };
            format!("{day} den {}. {} {}", d.day(), DA_MONTHS[m], d.year())
        }
        Language::En => {
            let day = match d.weekday() {
                Weekday::Mon => "Monday",
                Weekday::Tue => "Tuesday",
                Weekday::Wed => "Wednesday",
                Weekday::Thu => "Thursday",
                Weekday::Fri => "Friday",
                Weekday::Sat => "Saturday",
                Weekday::Sun => "Sunday",
            };
            format!("{day} {} {} {}", d.day(), EN_MONTHS[m], d.year())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_out_in_both_languages() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        assert_eq!(long_date(d, Language::Da), "tirsdag den 30. juni 2026");
        assert_eq!(long_date(d, Language::En), "Tuesday 30 June 2026");
    }

    #[test]
    fn a_mail_takes_its_most_pressing_kind() {
        let item = |kind| Item {
            key: "k".into(),
            kind,
            cycle: None,
            unit_id: None,
            unit_name: String::new(),
            deadline: None,
            due: None,
            days_before: None,
            responsible: None,
            task: None,
            leader: None,
            deputy_for: None,
            link: None,
            themes: vec![],
            sequence: 0,
            data_gaps: vec![],
        };
        let mail = Mail {
            to: Recipient {
                email: "a@b.dk".into(),
                name: "A".into(),
                language: Language::Da,
            },
            items: vec![
                item(MailKind::Opened),
                item(MailKind::Overdue),
                item(MailKind::Reminder),
            ],
            digest: None,
            ended: vec![],
            failures: vec![],
            web: None,
            cc: Vec::new(),
        };
        assert_eq!(mail.kind(), MailKind::Overdue);
        // One's own overdue deadline outranks another's escalation.
        assert!(MailKind::Overdue > MailKind::Escalation && MailKind::Opened > MailKind::Digest);
    }
}
