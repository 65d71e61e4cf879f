//! The calendar file every deadline mail carries: one all-day event on each due date.
//! Its UID stays the same for a deadline, and SEQUENCE goes up when the date moves, so a
//! calendar updates its entry instead of adding one.

use chrono::{DateTime, Utc};
use hjul_wheel::Language;
use icalendar::{Calendar, Component, Event, EventLike};

use crate::content::{Item, deadline_name};

/// The stable UID of a deadline's event.
pub fn uid(item: &Item) -> Option<String> {
    let deadline = item.deadline.as_deref()?;
    let unit = item.unit_id.as_deref().unwrap_or("department");
    Some(format!(
        "{}-{unit}-{deadline}@hjul",
        item.cycle.unwrap_or(0)
    ))
}

/// An iCalendar text with one event per deadline among `items`, or `None` when no item
/// has a due date. `stamp` is DTSTAMP (the time of sending, injected).
pub fn ics(items: &[Item], language: Language, stamp: DateTime<Utc>) -> Option<String> {
    let mut calendar = Calendar::new();
    calendar.name(match language {
        Language::Da => "Kvalitetshjulet",
        Language::En => "Quality wheel",
    });
    let mut seen = Vec::new();
    for item in items {
        let (Some(uid), Some(due), Some(deadline)) =
            (uid(item), item.due, item.deadline.as_deref())
        else {
            continue;
        };
        if seen.contains(&uid) {
            continue;
        }
        let summary = one_line(&format!(
            "{}: {}",
            deadline_name(deadline, language),
            item.unit_name
        ));
        let event = Event::new()
            .uid(&uid)
            .sequence(item.sequence)
            .timestamp(stamp)
            .all_day(due)
            .summary(&summary)
            .description(match language {
                Language::Da => "Frist i kvalitetshjulet (hjul).",
                Language::En => "Deadline in the quality wheel (hjul).",
            })
            .done();
        calendar.push(event);
        seen.push(uid);
    }
    (!seen.is_empty()).then(|| calendar.done().to_string())
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
    use crate::content::MailKind;

    fn item(unit: &str, due: &str, sequence: u32) -> Item {
        Item {
            key: format!("2025:{unit}:agreement_signed:opened:leader"),
            kind: MailKind::Opened,
            cycle: Some(2025),
            unit_id: Some(unit.into()),
            unit_name: "Børnehuset, Mariehønen; \"Nord\"".into(),
            deadline: Some("agreement_signed".into()),
            due: Some(due.parse().unwrap()),
            days_before: None,
            responsible: None,
            sequence,
        }
    }

    #[test]
    fn an_all_day_event_with_a_stable_uid_and_escaped_text() {
        let stamp = "2026-03-13T07:00:00Z".parse().unwrap();
        let text = ics(&[item("dt-1", "2026-04-17", 0)], Language::Da, stamp).unwrap();
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
        let moved = ics(&[item("dt-1", "2026-04-24", 1)], Language::Da, stamp).unwrap();
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
        let text = ics(&[i], Language::Da, stamp).unwrap();
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{2029}'),
            "{text:?}"
        );
        assert!(text.contains("Børnehuset Mariehønen Nord"), "{text}");
    }

    #[test]
    fn one_event_per_deadline_and_none_without_dates() {
        let stamp = "2026-03-13T07:00:00Z".parse().unwrap();
        let text = ics(
            &[
                item("a", "2026-04-17", 0),
                item("a", "2026-04-17", 0),
                item("b", "2026-04-20", 0),
            ],
            Language::En,
            stamp,
        )
        .unwrap();
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        let mut none = item("a", "2026-04-17", 0);
        none.due = None;
        assert!(ics(&[none], Language::En, stamp).is_none());
    }
}
