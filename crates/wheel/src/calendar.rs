//! Quarters and cycles: the time grid the wheel turns on.
//!
//! All dates are calendar dates in the municipality's zone (Europe/Copenhagen by
//! default); instants only appear where mail is sent (see [`crate::reminders`]).

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// The years the calendar can compute. Easter (and so half the Danish holidays) is only
/// defined for the Gregorian calendar, which the `computus` crate supports from 1583 to
/// 9999; we keep a margin so a cycle of up to ten years never runs past the end.
pub const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1600..=9980;

/// A calendar quarter (kvartal), for example Q4 2025 = 1 October to 31 December 2025.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    /// 1..=4
    number: u8,
}

impl Quarter {
    /// `number` must be 1..=4.
    pub fn new(year: i32, number: u8) -> Option<Self> {
        (1..=4).contains(&number).then_some(Self { year, number })
    }

    pub fn containing(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            // month0 is 0..=11, so this is 1..=4 and fits in u8.
            number: (date.month0() / 3 + 1) as u8,
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn number(self) -> u8 {
        self.number
    }

    /// The quarter `n` quarters later (or earlier when negative).
    pub fn offset(self, n: i32) -> Self {
        let index = self.year * 4 + i32::from(self.number) - 1 + n;
        Self {
            year: index.div_euclid(4),
            number: (index.rem_euclid(4) + 1) as u8,
        }
    }

    pub fn first_day(self) -> NaiveDate {
        let month = u32::from(self.number - 1) * 3 + 1;
        // The year range is checked where cycles are made; a quarter outside chrono's
        // range cannot be constructed from a valid cycle.
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MAX)
    }

    pub fn last_day(self) -> NaiveDate {
        self.first_day()
            .checked_add_months(Months::new(3))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q{} {}", self.number, self.year)
    }
}

/// When cycles start and how long they last: the wheel's anchor.
///
/// Viborg's default: a cycle starts on 1 October (Q4) of every odd year and lasts eight
/// quarters, so the next one starts the day after the last one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleRule {
    anchor: Quarter,
    length_quarters: u8,
}

impl CycleRule {
    /// `length_quarters` must be a positive multiple of four, so that every cycle starts
    /// in the same quarter and a year names at most one cycle.
    pub fn new(anchor_year: i32, start_quarter: u8, length_quarters: u8) -> Option<Self> {
        let anchor = Quarter::new(anchor_year, start_quarter)?;
        (length_quarters > 0
            && length_quarters.is_multiple_of(4)
            && SUPPORTED_YEARS.contains(&anchor_year))
        .then_some(Self {
            anchor,
            length_quarters,
        })
    }

    pub fn length_quarters(self) -> u8 {
        self.length_quarters
    }

    /// Years between two cycle starts.
    pub fn every_years(self) -> i32 {
        i32::from(self.length_quarters / 4)
    }

    pub fn start_quarter(self) -> u8 {
        self.anchor.number()
    }

    pub fn starts_in(self, year: i32) -> bool {
        (year - self.anchor.year()).rem_euclid(self.every_years()) == 0
    }

    /// The cycle named `year`, or why there is none.
    pub fn cycle(self, year: i32) -> Result<Cycle, NoCycle> {
        if !SUPPORTED_YEARS.contains(&year) {
            return Err(NoCycle::OutOfRange { year });
        }
        if !self.starts_in(year) {
            return Err(NoCycle::NotAStartYear {
                year,
                rule: self,
                containing: self.cycle_containing(
                    Quarter::new(year, 1).map_or(NaiveDate::MIN, Quarter::first_day),
                ),
            });
        }
        Ok(self.cycle_unchecked(year))
    }

    fn cycle_unchecked(self, year: i32) -> Cycle {
        Cycle {
            year,
            first_quarter: Quarter {
                year,
                number: self.anchor.number(),
            },
            length_quarters: self.length_quarters,
        }
    }

    /// The cycle that is running on `date`.
    pub fn cycle_containing(self, date: NaiveDate) -> Cycle {
        let quarters_since_anchor = {
            let q = Quarter::containing(date);
            (q.year() - self.anchor.year()) * 4 + i32::from(q.number())
                - i32::from(self.anchor.number())
        };
        let cycles = quarters_since_anchor.div_euclid(i32::from(self.length_quarters));
        self.cycle_unchecked(self.anchor.year() + cycles * self.every_years())
    }
}

/// Why a year names no cycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoCycle {
    #[error(
        "no cycle starts in {year}: cycles start on {start} every {every} years; {year} lies in cycle {} ({} – {}); did you mean {}?",
        containing.year(), containing.starts(), containing.ends(), containing.year(),
        start = start_description(rule.start_quarter()),
        every = rule.every_years(),
    )]
    NotAStartYear {
        year: i32,
        rule: CycleRule,
        containing: Cycle,
    },
    #[error(
        "{year} is outside the years hjul can compute ({}–{})",
        SUPPORTED_YEARS.start(),
        SUPPORTED_YEARS.end()
    )]
    OutOfRange { year: i32 },
}

fn start_description(quarter: u8) -> &'static str {
    match quarter {
        1 => "1 January",
        2 => "1 April",
        3 => "1 July",
        _ => "1 October",
    }
}

/// One turn of the wheel, named by the year it starts ("cycle 2025").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i32")]
pub struct Cycle {
    year: i32,
    first_quarter: Quarter,
    length_quarters: u8,
}

impl From<Cycle> for i32 {
    fn from(c: Cycle) -> i32 {
        c.year
    }
}

impl Cycle {
    pub fn year(self) -> i32 {
        self.year
    }

    pub fn length_quarters(self) -> u8 {
        self.length_quarters
    }

    /// The quarter `offset` quarters after the cycle's first (0 is the first).
    pub fn quarter(self, offset: u8) -> Quarter {
        self.first_quarter.offset(i32::from(offset))
    }

    pub fn starts(self) -> NaiveDate {
        self.first_quarter.first_day()
    }

    pub fn ends(self) -> NaiveDate {
        self.quarter(self.length_quarters - 1).last_day()
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.starts() <= date && date <= self.ends()
    }

    /// Which of the cycle's quarters `date` falls in, counted from 0.
    pub fn quarter_offset(self, date: NaiveDate) -> Option<u8> {
        if !self.contains(date) {
            return None;
        }
        let q = Quarter::containing(date);
        let offset = (q.year() - self.first_quarter.year()) * 4 + i32::from(q.number())
            - i32::from(self.first_quarter.number());
        u8::try_from(offset).ok()
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cycle {}", self.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn viborg() -> CycleRule {
        CycleRule::new(2025, 4, 8).unwrap()
    }

    #[test]
    fn quarters_have_the_right_bounds() {
        let q = Quarter::new(2024, 1).unwrap();
        assert_eq!(q.first_day(), date(2024, 1, 1));
        assert_eq!(q.last_day(), date(2024, 3, 31));
        let q = Quarter::new(2025, 4).unwrap();
        assert_eq!(q.first_day(), date(2025, 10, 1));
        assert_eq!(q.last_day(), date(2025, 12, 31));
        assert_eq!(Quarter::new(2025, 2).unwrap().last_day(), date(2025, 6, 30));
        assert_eq!(Quarter::new(2025, 3).unwrap().last_day(), date(2025, 9, 30));
        assert_eq!(Quarter::new(2025, 5), None);
        assert_eq!(Quarter::new(2025, 0), None);
    }

    #[test]
    fn quarter_offsets_cross_years_both_ways() {
        let q = Quarter::new(2025, 4).unwrap();
        assert_eq!(q.offset(1), Quarter::new(2026, 1).unwrap());
        assert_eq!(q.offset(7), Quarter::new(2027, 3).unwrap());
        assert_eq!(q.offset(-4), Quarter::new(2024, 4).unwrap());
        assert_eq!(q.offset(-7), Quarter::new(2024, 1).unwrap());
        assert_eq!(q.to_string(), "Q4 2025");
    }

    #[test]
    fn cycle_2025_runs_to_september_2027_and_2027_follows() {
        let c = viborg().cycle(2025).unwrap();
        assert_eq!(c.starts(), date(2025, 10, 1));
        assert_eq!(c.ends(), date(2027, 9, 30));
        let next = viborg().cycle(2027).unwrap();
        assert_eq!(next.starts(), c.ends().succ_opt().unwrap());
        assert_eq!(c.quarter(1), Quarter::new(2026, 1).unwrap());
        assert_eq!(c.quarter_offset(date(2026, 6, 30)), Some(2));
        assert_eq!(c.quarter_offset(date(2027, 9, 30)), Some(7));
        assert_eq!(c.quarter_offset(date(2025, 9, 30)), None);
    }

    #[test]
    fn a_year_without_a_cycle_says_which_cycle_it_lies_in() {
        let err = viborg().cycle(2026).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no cycle starts in 2026"), "{text}");
        assert!(text.contains("1 October every 2 years"), "{text}");
        assert!(text.contains("did you mean 2025?"), "{text}");
        // January 2025 is in the cycle that started in October 2023.
        assert!(
            viborg()
                .cycle(2024)
                .unwrap_err()
                .to_string()
                .contains("did you mean 2023?")
        );
        assert!(matches!(
            viborg().cycle(12000),
            Err(NoCycle::OutOfRange { .. })
        ));
    }

    #[test]
    fn rules_must_have_whole_years() {
        assert!(CycleRule::new(2025, 4, 6).is_none());
        assert!(CycleRule::new(2025, 4, 0).is_none());
        assert!(CycleRule::new(2025, 5, 8).is_none());
        assert_eq!(CycleRule::new(2024, 1, 12).unwrap().every_years(), 3);
    }

    proptest! {
        #[test]
        fn every_date_lies_in_exactly_one_cycle(days in 0i64..(200 * 366)) {
            let d = date(1950, 1, 1) + chrono::Duration::days(days);
            let c = viborg().cycle_containing(d);
            prop_assert!(c.contains(d), "{d} not in {c:?}");
            prop_assert!(viborg().starts_in(c.year()));
            let before = viborg().cycle(c.year() - 2).unwrap();
            let after = viborg().cycle(c.year() + 2).unwrap();
            prop_assert!(!before.contains(d) && !after.contains(d));
            prop_assert_eq!(before.ends().succ_opt().unwrap(), c.starts());
        }

        #[test]
        fn quarter_offset_round_trips(n in -4000i32..4000) {
            let q = Quarter::new(2025, 4).unwrap();
            prop_assert_eq!(q.offset(n).offset(-n), q);
            prop_assert_eq!(Quarter::containing(q.offset(n).first_day()), q.offset(n));
            prop_assert_eq!(Quarter::containing(q.offset(n).last_day()), q.offset(n));
            prop_assert_eq!(q.offset(n).last_day().succ_opt().unwrap(), q.offset(n + 1).first_day());
        }
    }
}
