//! Reminder moments: when mail about a deadline is due, as instants in UTC.
//!
//! Mail goes out at the configured local time (08:00 Europe/Copenhagen by default) on
//! business days; a moment that falls on a closed day moves to the business day before.
//! Whether a moment is still worth sending (the deadline may be met) is for the
//! scheduler to decide: this module only knows the calendar.

use chrono::{DateTime, Days, LocalResult, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::definition::{MailTime, WheelDefinition};
use crate::organisation::Party;
use crate::workflow::DeadlineStatus;

/// What a moment's mail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MomentKind {
    /// The deadline has opened.
    Opened,
    /// The deadline is due in `days_before` days.
    Reminder { days_before: u32 },
    /// The deadline has passed.
    Overdue,
    /// Told to the responsible party's superior.
    Escalation,
}

impl MomentKind {
    /// How pressing a kind is, for a mail that gathers several items: the mail takes the
    /// most pressing kind of its items.
    pub fn urgency(self) -> u8 {
        match self {
            Self::Opened => 0,
            Self::Reminder { .. } => 1,
            Self::Overdue => 2,
            Self::Escalation => 3,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Reminder { .. } => "reminder",
            Self::Overdue => "overdue",
            Self::Escalation => "escalation",
        }
    }
}

/// One mail moment for one deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    pub kind: MomentKind,
    /// The business day it falls on.
    pub date: NaiveDate,
    /// When it is due, in UTC.
    pub at: DateTime<Utc>,
    /// Who it is for.
    pub to: Vec<Party>,
}

/// The instant mail is due on `date`: the configured local time in the configured zone.
pub fn mail_instant(mail: MailTime, date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(mail.time);
    match mail.zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        // An autumn hour happens twice: the first one is the one people mean.
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // A spring hour does not exist (a mail time such as 02:30 on the change day):
        // the clocks jump ahead one hour, so the same wall time an hour later.
        LocalResult::None => mail
            .zone
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// Every mail moment for a deadline, in time order; empty while its opening or due date
/// is unknown. Reminders that would fall on or before the opening notice are left out:
/// the opening notice already carries the due date.
pub fn moments(def: &WheelDefinition, deadline: &DeadlineStatus) -> Vec<Moment> {
    let (Some(opens), Some(due)) = (deadline.opens, deadline.due) else {
        return Vec::new();
    };
    let cal = &def.calendar;
    let rules = &def.reminders;
    let at = |date| mail_instant(def.mail_time, date);
    let mut out = Vec::new();

    let opened = cal.on_or_before(opens);
    if rules.on_open {
        let mut to = vec![deadline.responsible];
        for p in &deadline.notify_on_open {
            if !to.contains(p) {
                to.push(*p);
            }
        }
        out.push(Moment {
            kind: MomentKind::Opened,
            date: opened,
            at: at(opened),
            to,
        });
    }
    for days in &rules.days_before {
        let Some(d) = due.checked_sub_days(Days::new(u64::from(*days))) else {
            continue;
        };
        let date = cal.on_or_before(d);
        if date > opened && date < due && !out.iter().any(|m| m.date == date) {
            out.push(Moment {
                kind: MomentKind::Reminder { days_before: *days },
                date,
                at: at(date),
                to: vec![deadline.responsible],
            });
        }
    }
    let mut overdue = due;
    for _ in 0..rules.overdue_business_days_after {
        overdue = cal.after(overdue);
    }
    out.push(Moment {
        kind: MomentKind::Overdue,
        date: overdue,
        at: at(overdue),
        to: vec![deadline.responsible],
    });
    // Moving the escalation back off a closed day must not put it before the overdue
    // notice it follows up on.
    let escalation = due
        .checked_add_days(Days::new(u64::from(rules.escalation_days_after)))
        .map_or(overdue, |d| cal.on_or_before(d).max(overdue));
    out.push(Moment {
        kind: MomentKind::Escalation,
        date: escalation,
        at: at(escalation),
        to: vec![deadline.escalate_to],
    });
    out.sort_by_key(|m| (m.date, m.kind.urgency()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::{Deadline, Phase};
    use chrono::{NaiveTime, Timelike};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn copenhagen() -> MailTime {
        WheelDefinition::builtin().mail_time
    }

    fn status(opens: NaiveDate, due: NaiveDate) -> DeadlineStatus {
        DeadlineStatus {
            deadline: Deadline::AgreementSigned,
            occurrence: 0,
            phase: Phase::CoherenceAgreement,
            opens: Some(opens),
            waiting_for: vec![],
            due: Some(due),
            nominal_due: Some(due),
            met_on: None,
            responsible: Party::Leader,
            escalate_to: Party::Superior,
            task: crate::phase::Task::SubmitAgreement,
            notify_on_open: vec![],
            before_joining: None,
        }
    }

    #[test]
    fn eight_oclock_copenhagen_is_seven_utc_in_winter_and_six_in_summer() {
        let m = copenhagen();
        assert_eq!(
            mail_instant(m, date(2026, 1, 15)).to_rfc3339(),
            "2026-01-15T07:00:00+00:00"
        );
        assert_eq!(
            mail_instant(m, date(2026, 6, 16)).to_rfc3339(),
            "2026-06-16T06:00:00+00:00"
        );
    }

    #[test]
    fn the_days_around_both_dst_changes() {
        let m = copenhagen();
        // 2026: summer time from Sunday 29 March, winter time from Sunday 25 October.
        let hour = |d| mail_instant(m, d).hour();
        assert_eq!(hour(date(2026, 3, 27)), 7);
        assert_eq!(hour(date(2026, 3, 28)), 7);
        assert_eq!(hour(date(2026, 3, 29)), 6);
        assert_eq!(hour(date(2026, 3, 30)), 6);
        assert_eq!(hour(date(2026, 10, 24)), 6);
        assert_eq!(hour(date(2026, 10, 25)), 7);
        assert_eq!(hour(date(2026, 10, 26)), 7);
        // 2027: 28 March and 31 October.
        assert_eq!(hour(date(2027, 3, 27)), 7);
        assert_eq!(hour(date(2027, 3, 28)), 6);
        assert_eq!(hour(date(2027, 10, 30)), 6);
        assert_eq!(hour(date(2027, 10, 31)), 7);
    }

    #[test]
    fn a_mail_time_inside_the_spring_gap_goes_an_hour_later_and_the_autumn_repeat_takes_the_first()
    {
        let gap = MailTime {
            time: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            ..copenhagen()
        };
        // 02:30 does not exist on 29 March 2026; 03:30 CEST is 01:30 UTC.
        assert_eq!(
            mail_instant(gap, date(2026, 3, 29)).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
        // 02:30 happens twice on 25 October 2026; the first is 02:30 CEST = 00:30 UTC.
        assert_eq!(
            mail_instant(gap, date(2026, 10, 25)).to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn an_agreement_deadline_gets_its_five_moments() {
        let def = WheelDefinition::builtin();
        // Dialogue held Saturday 14 March 2026: the agreement is due 13 April (a Monday).
        let s = status(date(2026, 3, 14), date(2026, 4, 13));
        let got: Vec<(MomentKind, NaiveDate)> =
            moments(&def, &s).iter().map(|m| (m.kind, m.date)).collect();
        assert_eq!(
            got,
            vec![
                // Opened on a Saturday: the notice goes the Friday before.
                (MomentKind::Opened, date(2026, 3, 13)),
                // 30 March is a Monday.
                (MomentKind::Reminder { days_before: 14 }, date(2026, 3, 30)),
                // 10 April is a Friday.
                (MomentKind::Reminder { days_before: 3 }, date(2026, 4, 10)),
                (MomentKind::Overdue, date(2026, 4, 14)),
                (MomentKind::Escalation, date(2026, 4, 20)),
            ]
        );
        let m = moments(&def, &s);
        assert_eq!(m[0].to, vec![Party::Leader]);
        assert_eq!(m[4].to, vec![Party::Superior]);
        assert_eq!(m[0].at.to_rfc3339(), "2026-03-13T07:00:00+00:00");
        // After 29 March the same 08:00 is 06:00 UTC.
        assert_eq!(m[1].at.to_rfc3339(), "2026-03-30T06:00:00+00:00");
    }

    #[test]
    fn reminders_move_off_easter_and_before_the_opening_are_dropped() {
        let def = WheelDefinition::builtin();
        // Due Monday 20 April 2026; 3 days before is Friday 17 April; 14 days before is
        // 6 April (Easter Monday), moved back over Easter to Wednesday 1 April.
        let s = status(date(2026, 3, 1), date(2026, 4, 20));
        let m = moments(&def, &s);
        let reminder14 = m
            .iter()
            .find(|m| m.kind == MomentKind::Reminder { days_before: 14 })
            .unwrap();
        assert_eq!(reminder14.date, date(2026, 4, 1));
        // Opened only five days before it is due: no 14-day reminder.
        let s = status(date(2026, 4, 15), date(2026, 4, 20));
        let kinds: Vec<MomentKind> = moments(&def, &s).iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            vec![
                MomentKind::Opened,
                MomentKind::Reminder { days_before: 3 },
                MomentKind::Overdue,
                MomentKind::Escalation
            ]
        );
    }

    #[test]
    fn overdue_over_christmas_and_the_escalation_never_before_it() {
        let def = WheelDefinition::builtin();
        // Due Wednesday 23 December 2026: 24 (closing day), 25, 26 (holidays, 26 a
        // Saturday), 27 (Sunday) are closed, so overdue Monday 28; escalation 30 Dec.
        let s = status(date(2026, 11, 1), date(2026, 12, 23));
        let m = moments(&def, &s);
        let by = |k| m.iter().find(|m| m.kind == k).unwrap().date;
        assert_eq!(by(MomentKind::Overdue), date(2026, 12, 28));
        assert_eq!(by(MomentKind::Escalation), date(2026, 12, 30));
    }

    #[test]
    fn nothing_while_a_deadline_waits() {
        let def = WheelDefinition::builtin();
        let mut s = status(date(2026, 3, 1), date(2026, 4, 1));
        s.opens = None;
        s.due = None;
        assert!(moments(&def, &s).is_empty());
    }

    proptest! {
        #[test]
        fn moments_are_business_days_at_eight_in_order(
            open_day in 0i64..(100 * 365),
            length in 1u64..200,
        ) {
            let def = WheelDefinition::builtin();
            let opens = date(2000, 1, 1) + chrono::Duration::days(open_day);
            let due = def.calendar.on_or_before(opens + Days::new(length));
            let s = status(opens, due);
            let m = moments(&def, &s);
            prop_assert!(m.len() >= 3);
            for w in m.windows(2) {
                prop_assert!(w[0].date <= w[1].date, "{:?}", m);
            }
            for x in &m {
                prop_assert!(def.calendar.is_business_day(x.date), "{:?} on closed {}", x.kind, x.date);
                let local = x.at.with_timezone(&chrono_tz::Europe::Copenhagen);
                prop_assert_eq!(local.date_naive(), x.date);
                prop_assert_eq!((local.hour(), local.minute()), (8, 0));
                match x.kind {
                    MomentKind::Reminder { .. } => prop_assert!(x.date < due),
                    MomentKind::Overdue | MomentKind::Escalation => prop_assert!(x.date > due),
                    MomentKind::Opened => prop_assert!(x.date <= opens),
                }
            }
        }
    }
}
