//! What a mail says, before it is put into words: who it is for and the items it
//! carries. One mail gathers everything due to one person on one day.

use chrono::{Datelike, NaiveDate, Weekday};
use hjul_wheel::Language;
use serde::{Deserialize, Serialize};

pub use hjul_wheel::names::{deadline_name, step_name};

/// The kinds of item, least pressing first: a mail takes the most pressing kind of its
/// items, and its sections come in the opposite order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Digest,
    Opened,
    Reminder,
    Overdue,
    Escalation,
    DeadLetter,
}

impl MailKind {
    pub const ALL: [MailKind; 6] = [
        MailKind::Digest,
        MailKind::Opened,
        MailKind::Reminder,
        MailKind::Overdue,
        MailKind::Escalation,
        MailKind::DeadLetter,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Digest => "digest",
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
    /// The deadline's key (`agreement_signed`), if the item is about one.
    pub deadline: Option<String>,
    pub due: Option<NaiveDate>,
    pub days_before: Option<i32>,
    /// For escalations: whose deadline it is.
    pub responsible: Option<String>,
    /// How many times the due date of this deadline has moved in mails already sent:
    /// the calendar event's SEQUENCE.
    pub sequence: u32,
}

/// The secretariat's Monday digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub date: NaiveDate,
    pub overdue: Vec<Item>,
    pub due_soon: Vec<Item>,
    /// (step key, units at it)
    pub steps: Vec<(String, usize)>,
}

/// A mail that could not be delivered, told to the secretariat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub to: String,
    pub error: String,
    pub items: Vec<Item>,
}

/// One mail to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Recipient,
    pub items: Vec<Item>,
    pub digest: Option<Digest>,
    pub failures: Vec<Failure>,
}

impl Mail {
    /// The most pressing kind of what the mail carries.
    pub fn kind(&self) -> MailKind {
        let mut kind = self.items.iter().map(|i| i.kind).max();
        if self.digest.is_some() {
            kind = kind.max(Some(MailKind::Digest));
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
            sequence: 0,
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
            failures: vec![],
        };
        assert_eq!(mail.kind(), MailKind::Overdue);
        assert!(MailKind::Escalation > MailKind::Overdue && MailKind::Opened > MailKind::Digest);
    }
}
