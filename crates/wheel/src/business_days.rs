//! The Danish business-day calendar: weekends, public holidays (helligdage) and the
//! municipality's own closing days (lukkedage).
//!
//! No maintained crate gets the Danish holidays right (store bededag was abolished
//! after 2023), so they are computed here from Easter.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

/// The last year in which Great Prayer Day (store bededag) was a public holiday; the
/// Folketing abolished it from 2024.
pub const LAST_GREAT_PRAYER_DAY_YEAR: i32 = 2023;

/// A Danish public holiday (helligdag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holiday {
    /// Nytårsdag
    NewYearsDay,
    /// Skærtorsdag
    MaundyThursday,
    /// Langfredag
    GoodFriday,
    /// Påskedag
    EasterSunday,
    /// 2. påskedag
    EasterMonday,
    /// Store bededag, up to 2023
    GreatPrayerDay,
    /// Kristi himmelfartsdag
    AscensionDay,
    /// Pinsedag
    WhitSunday,
    /// 2. pinsedag
    WhitMonday,
    /// Juledag
    ChristmasDay,
    /// 2. juledag
    BoxingDay,
}

impl Holiday {
    pub fn name_da(self) -> &'static str {
        match self {
            Self::NewYearsDay => "Nytårsdag",
            Self::MaundyThursday => "Skærtorsdag",
            Self::GoodFriday => "Langfredag",
            Self::EasterSunday => "Påskedag",
            Self::EasterMonday => "2. påskedag",
            Self::GreatPrayerDay => "Store bededag",
            Self::AscensionDay => "Kristi himmelfartsdag",
            Self::WhitSunday => "Pinsedag",
            Self::WhitMonday => "2. pinsedag",
            Self::ChristmasDay => "Juledag",
            Self::BoxingDay => "2. juledag",
        }
    }
}

/// Easter Sunday, or `None` outside the Gregorian years `computus` covers.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let e = computus::gregorian(year).ok()?;
    NaiveDate::from_ymd_opt(e.year, e.month, e.day)
}

/// The Danish public holidays of `year`, in date order.
///
/// Outside the years Easter can be computed for (see
/// [`crate::calendar::SUPPORTED_YEARS`]) only the fixed-date holidays are returned;
/// cycles cannot be made for such years, so no deadline is ever computed there.
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, Holiday)> {
    let mut days = Vec::with_capacity(11);
    let fixed = |m, d, h| NaiveDate::from_ymd_opt(year, m, d).map(|date| (date, h));
    days.extend(fixed(1, 1, Holiday::NewYearsDay));
    if let Some(easter) = easter_sunday(year) {
        let rel = |offset: i64, h| Some((easter + chrono::Duration::days(offset), h));
        days.extend(rel(-3, Holiday::MaundyThursday));
        days.extend(rel(-2, Holiday::GoodFriday));
        days.extend(rel(0, Holiday::EasterSunday));
        days.extend(rel(1, Holiday::EasterMonday));
        if year <= LAST_GREAT_PRAYER_DAY_YEAR {
            days.extend(rel(26, Holiday::GreatPrayerDay));
        }
        days.extend(rel(39, Holiday::AscensionDay));
        days.extend(rel(49, Holiday::WhitSunday));
        days.extend(rel(50, Holiday::WhitMonday));
    }
    days.extend(fixed(12, 25, Holiday::ChristmasDay));
    days.extend(fixed(12, 26, Holiday::BoxingDay));
    days
}

/// The public holiday on `date`, if any.
pub fn holiday_on(date: NaiveDate) -> Option<Holiday> {
    match (date.month(), date.day()) {
        (1, 1) => return Some(Holiday::NewYearsDay),
        (12, 25) => return Some(Holiday::ChristmasDay),
        (12, 26) => return Some(Holiday::BoxingDay),
        // Every Easter-based holiday lies between 19 March (Maundy Thursday of the
        // earliest Easter) and 14 June (Whit Monday of the latest): skip Easter otherwise.
        (3, 19..) | (4..=5, _) | (6, ..=14) => {}
        _ => return None,
    }
    let easter = easter_sunday(date.year())?;
    let offset = (date - easter).num_days();
    match offset {
        -3 => Some(Holiday::MaundyThursday),
        -2 => Some(Holiday::GoodFriday),
        0 => Some(Holiday::EasterSunday),
        1 => Some(Holiday::EasterMonday),
        26 if date.year() <= LAST_GREAT_PRAYER_DAY_YEAR => Some(Holiday::GreatPrayerDay),
        39 => Some(Holiday::AscensionDay),
        49 => Some(Holiday::WhitSunday),
        50 => Some(Holiday::WhitMonday),
        _ => None,
    }
}

/// A day of the year on which the municipality is closed, every year (for example
/// Constitution Day, 5 June). Written `MM-DD` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClosingDay {
    month: u32,
    day: u32,
}

impl ClosingDay {
    /// Parses `MM-DD`; 29 February is allowed and applies in leap years.
    pub fn parse(text: &str) -> Option<Self> {
        let (m, d) = text.split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (month, day) = (m.parse().ok()?, d.parse().ok()?);
        // 2000 is a leap year, so every real MM-DD is valid in it.
        NaiveDate::from_ymd_opt(2000, month, day).map(|_| Self { month, day })
    }

    pub fn matches(self, date: NaiveDate) -> bool {
        date.month() == self.month && date.day() == self.day
    }
}

impl fmt::Display for ClosingDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// Why a day is not a business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Closure {
    Weekend,
    PublicHoliday { holiday: Holiday },
    ClosingDay,
}

impl fmt::Display for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Weekend => f.write_str("weekend"),
            Self::PublicHoliday { holiday } => write!(f, "public holiday ({})", holiday.name_da()),
            Self::ClosingDay => f.write_str("closing day"),
        }
    }
}

/// Weekends, the Danish public holidays and the configured closing days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    closing_days: Vec<ClosingDay>,
}

impl BusinessCalendar {
    pub fn new(mut closing_days: Vec<ClosingDay>) -> Self {
        closing_days.sort();
        closing_days.dedup();
        Self { closing_days }
    }

    pub fn closing_days(&self) -> &[ClosingDay] {
        &self.closing_days
    }

    /// Why `date` is closed, or `None` on a business day. A closing day that is also a
    /// holiday or a weekend reports the weekend first, then the holiday.
    pub fn closure(&self, date: NaiveDate) -> Option<Closure> {
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return Some(Closure::Weekend);
        }
        if let Some(holiday) = holiday_on(date) {
            return Some(Closure::PublicHoliday { holiday });
        }
        self.closing_days
            .iter()
            .any(|c| c.matches(date))
            .then_some(Closure::ClosingDay)
    }

    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        self.closure(date).is_none()
    }

    /// `date` if it is a business day, else the business day before it: where a
    /// deadline or a reminder on a closed day goes.
    pub fn on_or_before(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        // There are never more than a handful of closed days in a row (Christmas to the
        // weekend after), so this ends quickly; the bound guards against a calendar in
        // which every day is closed, which the configuration cannot express.
        for _ in 0..366 {
            if self.is_business_day(d) {
                return d;
            }
            match d.pred_opt() {
                Some(p) => d = p,
                None => break,
            }
        }
        date
    }

    /// The first business day after `date`.
    pub fn after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        for _ in 0..366 {
            match d.checked_add_days(Days::new(1)) {
                Some(n) => d = n,
                None => break,
            }
            if self.is_business_day(d) {
                return d;
            }
        }
        d
    }

    /// The business day `n` business days after `date` (`date` itself for 0).
    pub fn business_days_after(&self, date: NaiveDate, n: u32) -> NaiveDate {
        (0..n).fold(date, |d, _| self.after(d))
    }

    /// Every closed weekday of `year` (holidays and closing days that are not on a
    /// weekend), in date order: what a secretariat checks its calendar against.
    pub fn closed_weekdays(&self, year: i32) -> Vec<(NaiveDate, Closure)> {
        let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return Vec::new();
        };
        first
            .iter_days()
            .take_while(|d| d.year() == year)
            .filter_map(|d| match self.closure(d) {
                Some(Closure::Weekend) | None => None,
                Some(c) => Some((d, c)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn viborg() -> BusinessCalendar {
        BusinessCalendar::new(
            ["06-05", "12-24", "12-31"]
                .iter()
                .map(|s| ClosingDay::parse(s).unwrap())
                .collect(),
        )
    }

    #[test]
    fn easter_matches_known_dates() {
        // From the Danish almanac (and any Easter table).
        for (y, m, d) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "{y}");
        }
    }

    #[test]
    fn the_danish_holidays_of_2026() {
        let got: Vec<_> = public_holidays(2026).into_iter().map(|(d, _)| d).collect();
        let want = vec![
            date(2026, 1, 1),
            date(2026, 4, 2),  // skærtorsdag
            date(2026, 4, 3),  // langfredag
            date(2026, 4, 5),  // påskedag
            date(2026, 4, 6),  // 2. påskedag
            date(2026, 5, 14), // Kristi himmelfartsdag
            date(2026, 5, 24), // pinsedag
            date(2026, 5, 25), // 2. pinsedag
            date(2026, 12, 25),
            date(2026, 12, 26),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn great_prayer_day_ends_with_2023() {
        assert_eq!(holiday_on(date(2023, 5, 5)), Some(Holiday::GreatPrayerDay));
        assert_eq!(holiday_on(date(2022, 5, 13)), Some(Holiday::GreatPrayerDay));
        // 2024's would have been 26 April.
        assert_eq!(holiday_on(date(2024, 4, 26)), None);
        assert!(viborg().is_business_day(date(2024, 4, 26)));
        assert!(
            public_holidays(2024)
                .iter()
                .all(|(_, h)| *h != Holiday::GreatPrayerDay)
        );
        assert_eq!(public_holidays(2023).len(), 11);
        assert_eq!(public_holidays(2024).len(), 10);
    }

    #[test]
    fn closing_days_are_parsed_strictly() {
        assert_eq!(ClosingDay::parse("06-05").unwrap().to_string(), "06-05");
        assert!(ClosingDay::parse("02-29").is_some());
        for bad in [
            "6-5", "02-30", "13-01", "00-10", "12-24x", "", "12/24", "1224",
        ] {
            assert!(ClosingDay::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn closures_say_why() {
        let cal = viborg();
        assert_eq!(cal.closure(date(2025, 12, 31)), Some(Closure::ClosingDay));
        assert_eq!(cal.closure(date(2026, 6, 5)), Some(Closure::ClosingDay));
        assert_eq!(cal.closure(date(2025, 12, 27)), Some(Closure::Weekend));
        assert_eq!(
            cal.closure(date(2026, 4, 3)),
            Some(Closure::PublicHoliday {
                holiday: Holiday::GoodFriday
            })
        );
        assert_eq!(cal.closure(date(2026, 4, 7)), None);
        // Without configured closing days 31 December is an ordinary Wednesday.
        assert!(BusinessCalendar::new(vec![]).is_business_day(date(2025, 12, 31)));
    }

    #[test]
    fn moving_to_the_business_day_before() {
        let cal = viborg();
        // 31 Dec 2025 is a closing day (Wednesday): the day before.
        assert_eq!(cal.on_or_before(date(2025, 12, 31)), date(2025, 12, 30));
        // Easter Monday 2026 back over Easter and Good Friday and Maundy Thursday.
        assert_eq!(cal.on_or_before(date(2026, 4, 6)), date(2026, 4, 1));
        // 26 Dec 2026 is a Saturday; 24 and 25 are closed; 23 is a Wednesday.
        assert_eq!(cal.on_or_before(date(2026, 12, 27)), date(2026, 12, 23));
        assert_eq!(cal.on_or_before(date(2026, 4, 7)), date(2026, 4, 7));
        assert_eq!(cal.after(date(2026, 4, 1)), date(2026, 4, 7));
        assert_eq!(cal.after(date(2026, 12, 23)), date(2026, 12, 28));
        assert_eq!(cal.after(date(2025, 12, 30)), date(2026, 1, 2));
    }

    #[test]
    fn closed_weekdays_of_a_year_list_holidays_and_closing_days() {
        let days = viborg().closed_weekdays(2026);
        let dates: Vec<_> = days.iter().map(|(d, _)| *d).collect();
        assert!(dates.contains(&date(2026, 6, 5)));
        assert!(dates.contains(&date(2026, 12, 24)));
        assert!(dates.contains(&date(2026, 12, 31)));
        // Easter Sunday, Whit Sunday and Boxing Day (a Saturday in 2026) are weekend days.
        assert!(!dates.contains(&date(2026, 4, 5)));
        assert!(!dates.contains(&date(2026, 12, 26)));
        assert_eq!(days.len(), 7 + 3);
    }

    proptest! {
        #[test]
        fn holiday_on_agrees_with_the_list(year in 1700i32..9000) {
            let listed = public_holidays(year);
            for (d, h) in &listed {
                prop_assert_eq!(holiday_on(*d), Some(*h));
            }
            let first = date(year, 1, 1);
            let count = first.iter_days().take_while(|d| d.year() == year)
                .filter(|d| holiday_on(*d).is_some()).count();
            prop_assert_eq!(count, listed.len());
        }

        #[test]
        fn moved_days_are_business_days_and_never_later(days in 0i64..(101 * 366)) {
            let cal = viborg();
            let d = date(2000, 1, 1) + chrono::Duration::days(days);
            let before = cal.on_or_before(d);
            prop_assert!(cal.is_business_day(before));
            prop_assert!(before <= d);
            prop_assert!((d - before).num_days() < 7);
            // Nothing between the moved day and the day itself is open.
            for x in before.iter_days().skip(1).take_while(|x| *x <= d) {
                prop_assert!(!cal.is_business_day(x));
            }
            let after = cal.after(d);
            prop_assert!(cal.is_business_day(after) && after > d);
        }
    }
}
