//! The calendar file a deadline mail carries: one all-day event on each due date that
//! lies ahead and that the recipient must meet. Its UID stays the same for a deadline,
//! and SEQUENCE goes up when the date moves, so a calendar updates its entry instead of
//! adding one; an entry that is no longer the recipient's is cancelled under the same
//! UID.

use chrono::{DateTime, NaiveDate, Utc};
use hjul_wheel::Language;
use icalendar::{Calendar, Component, Event, EventLike};

use crate::content::{Item, MailKind, deadline_name};

/// The iTIP method of a calendar that holds an entry to keep: published, not an
/// invitation to answer. The MIME part says the same (`message.rs`), as RFC 6047 asks.
pub const METHOD: &str = "PUBLISH";

/// The iTIP method of a calendar that only withdraws entries (RFC 5546 3.2.5). When a
/// mail both publishes and withdraws, it is one PUBLISH calendar whose withdrawn
/// events say STATUS:CANCELLED (RFC 5546 3.2.1 allows it): one calendar part a mail,
/// which is all that many mail programs read.
pub const CANCEL: &str = "CANCEL";

/// A calendar part: its text and the method its MIME part must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ics {
    pub method: &'static str,
    pub text: String,
}

/// The SEQUENCE of a deadline's entry about to be sent, from what was sent before for
/// it, oldest first: (due date, whether it withdrew the entry). The first version is
/// 0; each change of date, each withdrawal, and each entry put back after one makes a
/// new version, so a calendar always takes the latest.
pub fn sequence(sent: &[(NaiveDate, bool)], next: (NaiveDate, bool)) -> u32 {
    let mut version: Option<u32> = None;
    let mut last: Option<(NaiveDate, bool)> = None;
    for entry in sent.iter().copied().chain(std::iter::once(next)) {
        version = Some(match (version, last) {
            (Some(v), Some(l)) if l == entry && !entry.1 => v,
            (Some(v), _) => v.saturating_add(1),
            (None, _) => 0,
        });
        last = Some(entry);
    }
    version.unwrap_or(0)
}

/// Who made the calendar, as calendars show it (RFC 5545 3.7.3).
pub const PRODID: &str = "-//hjul//Kvalitetshjulet//DA";

/// The stable UID of a deadline's event.
pub fn uid(item: &Item) -> Option<String> {
    let deadline = item.deadline?;
    let unit = item.unit_id.as_deref().unwrap_or("department");
    let cycle = item.cycle.unwrap_or(0);
    // A follow-up falls due several times a cycle, each on its own day: each time is
    // its own entry.
    if deadline.is_follow_up() {
        let due = item.due?;
        return Some(format!("{cycle}-{unit}-{deadline}-{due}@hjul"));
    }
    Some(format!("{cycle}-{unit}-{deadline}@hjul"))
}

/// Whether `item` belongs in its recipient's calendar: a deadline of their own (an
/// escalation is about someone else's) whose day has not passed by `today`.
pub(crate) fn in_calendar(item: &Item, today: NaiveDate) -> bool {
    item.kind != MailKind::Escalation && item.due.is_some_and(|due| due >= today)
}

/// An iCalendar part with one event per deadline among `items` that belongs in the
/// recipient's calendar (a withdrawn one as cancelled), or `None` when none does.
/// `stamp` is DTSTAMP (the time of sending, injected).
pub fn ics(items: &[Item], language: Language, stamp: DateTime<Utc>) -> Option<Ics> {
    // Mail goes out in the municipality's morning, when its date and UTC's agree.
    let kept = |i: &&Item| in_calendar(i, stamp.date_naive());
    let method = if items
        .iter()
        .filter(kept)
        .all(|i| i.kind == MailKind::Withdrawn)
    {
        CANCEL
    } else {
        METHOD
    };
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("PRODID", PRODID))
        .append_property(("VERSION", "2.0"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method));
    calendar.name(match language {
        Language::Da => "Kvalitetshjulet",
        Language::En => "Quality wheel",
    });
    let mut seen = Vec::new();
    for item in items.iter().filter(kept) {
        let (Some(uid), Some(due), Some(deadline)) = (uid(item), item.due, item.deadline) else {
            continue;
        };
        if seen.contains(&uid) {
            continue;
        }
        let summary = one_line(&format!(
            "{}: {}",
            deadline_name(deadline.key(), language),
            item.unit_name
        ));
        // An all-day event ends the next day (DTEND is exclusive, RFC 5545 3.6.1).
        let Some(next_day) = due.succ_opt() else {
            continue;
        };
        // What to do and where, as the mail says it: the entry is read on the day,
        // long after the mail.
        let withdrawn = item.kind == MailKind::Withdrawn;
        let mut description = one_line(&match item.task {
            _ if withdrawn => match (language, item.responsible.as_deref()) {
                (Language::Da, Some(who)) => format!("Ikke længere din opgave; nu hos {who}."),
                (Language::Da, None) => "Ikke længere din opgave.".to_owned(),
                (Language::En, Some(who)) => format!("No longer yours to do; now with {who}."),
                (Language::En, None) => "No longer yours to do.".to_owned(),
            },
            Some(task) => format!(
                "{}.",
                task.text(&item.unit_name, item.leader.as_deref())
                    .render(language)
            ),
            None => match language {
                Language::Da => "Frist i kvalitetshjulet (hjul).".to_owned(),
                Language::En => "Deadline in the quality wheel (hjul).".to_owned(),
            },
        });
        if let Some(link) = &item.link {
            description.push('\n');
            description.push_str(&one_line(link));
        }
        let mut event = Event::new();
        event
            .uid(&uid)
            .sequence(item.sequence)
            .timestamp(stamp)
            .starts(due)
            .ends(next_day)
            .summary(&summary)
            .description(&description);
        if let Some(link) = &item.link {
            event.append_property(("URL", link.as_str()));
        }
        if withdrawn {
            event.status(icalendar::EventStatus::Cancelled);
        }
        let event = event.done();
        calendar.push(event);
        seen.push(uid);
    }
    (!seen.is_empty()).then(|| Ics {
        method,
        text: calendar.done().to_string(),
    })
}

/// A text on one line: calendars (and some mail programs) break lines at U+2028 and
/// U+2029 as at a line break, which the format escapes only for `\n`; names on record
/// from before names were checked may hold them.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if hjul_wheel::limits::breaks_line(c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use icalendar::{CalendarComponent, DatePerhapsTime};

    fn ics_text(items: &[Item], language: Language, stamp: DateTime<Utc>) -> Option<String> {
        ics(items, language, stamp).map(|i| {
            assert_eq!(i.text.contains("METHOD:CANCEL\r\n"), i.method == CANCEL);
            i.text
        })
    }

    /// `text` read back by the icalendar parser, refusing what it cannot read.
    fn parsed(text: &str) -> Calendar {
        text.parse::<Calendar>()
            .unwrap_or_else(|e| panic!("not a calendar: {e}\n{text}"))
    }

    /// Every part hjul writes, as a calendar program reads it: hjul's PRODID, the
    /// MIME part's method, and all-day events that last a day.
    fn check(text: &str) -> Vec<Event> {
        assert!(text.ends_with("\r\n") && !text.contains("\n\n"), "{text:?}");
        assert!(text.lines().all(|l| l.len() <= 75), "{text}");
        let cal = parsed(text);
        assert_eq!(cal.property_value("PRODID"), Some(PRODID));
        assert!(matches!(
            cal.property_value("METHOD"),
            Some(METHOD | CANCEL)
        ));
        assert_eq!(cal.property_value("VERSION"), Some("2.0"));
        let events: Vec<Event> = cal
            .components
            .iter()
            .filter_map(|c| match c {
                CalendarComponent::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        for e in &events {
            let (Some(DatePerhapsTime::Date(start)), Some(DatePerhapsTime::Date(end))) =
                (e.get_start(), e.get_end())
            else {
                panic!("not an all-day event: {text}");
            };
            assert_eq!(end, start.succ_opt().unwrap(), "{text}");
            assert!(
                e.get_uid().is_some() && e.get_sequence().is_some(),
                "{text}"
            );
        }
        events
    }

    fn item(unit: &str, due: &str, sequence: u32) -> Item {
        Item {
            key: format!("2025:{unit}:agreement_signed:opened:leader"),
            kind: MailKind::Opened,
            cycle: Some(2025),
            unit_id: Some(unit.into()),
            unit_name: "Børnehuset, Mariehønen; \"Nord\"".into(),
            deadline: Some(hjul_wheel::Deadline::AgreementSigned),
            due: Some(due.parse().unwrap()),
            days_before: None,
            responsible: None,
            task: None,
            leader: None,
            deputy_for: None,
            link: None,
            themes: vec![],
            sequence,
            data_gaps: vec![],
        }
    }

    #[test]
    fn an_all_day_event_with_a_stable_uid_and_escaped_text() {
        let stamp = "2026-03-13T07:00:00Z".parse().unwrap();
        let text = ics_text(&[item("dt-1", "2026-04-17", 0)], Language::Da, stamp).unwrap();
        assert_eq!(check(&text).len(), 1);
        assert!(text.contains("DTEND;VALUE=DATE:20260418\r\n"), "{text}");
        assert!(
            text.contains("UID:2025-dt-1-agreement_signed@hjul\r\n"),
            "{text}"
        );
        assert!(text.contains("DTSTART;VALUE=DATE:20260417\r\n"), "{text}");
        assert!(text.contains("SEQUENCE:0\r\n"), "{text}");
        assert!(text.contains("DTSTAMP:20260313T070000Z\r\n"), "{text}");
        // Commas, semicolons and quotes in names are escaped, not taken as structure.
        assert!(
            text.contains(
                "SUMMARY:Sammenhængsaftale underskrevet: Børnehuset\\, Mariehønen\\; \"Nord\""
            ),
            "{text}"
        );
        let moved = ics_text(&[item("dt-1", "2026-04-24", 1)], Language::Da, stamp).unwrap();
        assert_eq!(check(&moved)[0].get_sequence(), Some(1));
        assert!(
            moved.contains("UID:2025-dt-1-agreement_signed@hjul\r\n")
                && moved.contains("SEQUENCE:1\r\n")
        );
    }

    #[test]
    fn line_separators_do_not_break_a_calendar_line() {
        let stamp = "2026-03-13T07:00:00Z".parse().unwrap();
        let mut i = item("dt-1", "2026-04-17", 0);
        i.unit_name = "Børnehuset\u{2028}Mariehønen\u{2029}Nord".into();
        let text = ics_text(&[i], Language::Da, stamp).unwrap();
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{2029}'),
            "{text:?}"
        );
        assert!(text.contains("Børnehuset Mariehønen Nord"), "{text}");
    }

    #[test]
    fn one_event_per_deadline_and_none_without_dates() {
        let stamp = "2026-03-13T07:00:00Z".parse().unwrap();
        let text = ics_text(
            &[
                item("a", "2026-04-17", 0),
                item("a", "2026-04-17", 0),
                item("b", "2026-04-20", 0),
            ],
            Language::En,
            stamp,
        )
        .unwrap();
        assert_eq!(check(&text).len(), 2);
        let mut none = item("a", "2026-04-17", 0);
        none.due = None;
        assert!(ics_text(&[none], Language::En, stamp).is_none());
    }

    /// An escalation is about another's deadline, and a day that has passed is no
    /// entry to keep: neither reaches the recipient's calendar.
    #[test]
    fn only_the_recipients_own_deadlines_ahead() {
        let stamp = "2026-04-20T05:00:00Z".parse().unwrap();
        let mut theirs = item("b", "2026-05-01", 0);
        theirs.kind = MailKind::Escalation;
        let past = item("c", "2026-04-17", 0);
        let today = item("d", "2026-04-20", 0);
        let text = ics_text(&[theirs.clone(), past.clone(), today], Language::Da, stamp).unwrap();
        let events = check(&text);
        assert_eq!(events.len(), 1, "{text}");
        assert_eq!(events[0].get_uid(), Some("2025-d-agreement_signed@hjul"));
        assert!(ics_text(&[theirs, past], Language::Da, stamp).is_none());
    }

    /// An entry that is no longer the recipient's is cancelled under its UID with a
    /// higher SEQUENCE: on its own as a CANCEL, beside entries to keep as a cancelled
    /// event of a PUBLISH (one calendar part a mail).
    #[test]
    fn a_withdrawn_entry_is_cancelled_under_its_uid() {
        let stamp = "2026-04-10T05:00:00Z".parse().unwrap();
        let mut gone = item("a", "2026-04-17", 1);
        gone.kind = MailKind::Withdrawn;
        gone.responsible = Some("Dorte Jensen".into());
        let alone = ics(std::slice::from_ref(&gone), Language::Da, stamp).unwrap();
        assert_eq!(alone.method, CANCEL);
        let events = check(&alone.text);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get_uid(), Some("2025-a-agreement_signed@hjul"));
        assert_eq!(events[0].get_sequence(), Some(1));
        assert_eq!(
            events[0].get_status(),
            Some(icalendar::EventStatus::Cancelled)
        );
        assert!(alone.text.contains("nu hos Dorte Jensen"), "{}", alone.text);
        let mixed = ics(&[gone, item("b", "2026-04-20", 0)], Language::Da, stamp).unwrap();
        assert_eq!(mixed.method, METHOD);
        let events = check(&mixed.text);
        let status: Vec<_> = events
            .iter()
            .map(|e| (e.get_uid(), e.get_status()))
            .collect();
        assert_eq!(
            status,
            [
                (
                    Some("2025-a-agreement_signed@hjul"),
                    Some(icalendar::EventStatus::Cancelled)
                ),
                (Some("2025-b-agreement_signed@hjul"), None)
            ]
        );
    }

    #[test]
    fn every_change_of_an_entry_is_a_new_version() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (a, b) = (d("2026-04-17"), d("2026-04-24"));
        assert_eq!(sequence(&[], (a, false)), 0);
        // The same date again (a reminder after the notice) is the same version.
        assert_eq!(sequence(&[(a, false)], (a, false)), 0);
        assert_eq!(sequence(&[(a, false), (a, false)], (b, false)), 1);
        assert_eq!(sequence(&[(a, false), (b, false)], (b, true)), 2);
        // Put back after a withdrawal, on the old date: newer than the withdrawal.
        assert_eq!(sequence(&[(a, false), (a, true)], (a, false)), 2);
        // A date that moves back is still a change.
        assert_eq!(sequence(&[(a, false), (b, false)], (a, false)), 2);
    }
}
