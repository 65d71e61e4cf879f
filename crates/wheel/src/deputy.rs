//! Deputies (stedfortrædere): a person who stands in for a unit's leader for a period.
//! While in force the deputy gets the unit's mail and may record what the leader may;
//! what they record says whom they stood in for. The rules of a period and of a
//! naming are here, so the dashboard, the API, the command line and the scheduler ask
//! the same.

use crate::Date;
use crate::limits::{MAX_TITLE_CHARS, breaks_line};
use crate::text::Text;

/// When a deputy stands in: from `starts` to `ends`, both days included; an open end
/// runs until the deputyship is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Period {
    pub starts: Option<Date>,
    pub ends: Option<Date>,
}

impl Period {
    pub fn new(starts: Option<Date>, ends: Option<Date>) -> Self {
        Self { starts, ends }
    }

    /// Whether the deputy stands in on `day`.
    pub fn covers(&self, day: Date) -> bool {
        self.starts.is_none_or(|s| s <= day) && self.ends.is_none_or(|e| day <= e)
    }

    /// Whether the two periods share a day.
    pub fn overlaps(&self, other: &Period) -> bool {
        let starts = self.starts.max(other.starts);
        let ends = match (self.ends, other.ends) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (starts, ends) {
            (Some(s), Some(e)) => s <= e,
            _ => true,
        }
    }

    /// A period a deputy can be named for on `today`: it ends on or after its start,
    /// and not before today (a period wholly past would stand in for no one).
    pub fn check(&self, today: Date) -> Result<(), Text> {
        if let (Some(s), Some(e)) = (self.starts, self.ends)
            && e < s
        {
            return Err(Text::new("deputy.ends_before_start")
                .arg("starts", s)
                .arg("ends", e));
        }
        if let Some(e) = self.ends
            && e < today
        {
            return Err(Text::new("deputy.ended").arg("ends", e));
        }
        Ok(())
    }
}

/// A deputy's name as a person writes it: not empty, on one line, at most
/// [`MAX_TITLE_CHARS`] characters (it goes into mail headers and calendar entries).
pub fn check_name(name: &str) -> Result<(), Text> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Text::new("deputy.no_name"));
    }
    if name.chars().any(breaks_line) {
        return Err(Text::new("deputy.name_line_break"));
    }
    if name.chars().count() > MAX_TITLE_CHARS {
        return Err(Text::new("deputy.name_too_long").arg("max", MAX_TITLE_CHARS));
    }
    crate::limits::check_visible(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap_or(Date::MIN)
    }

    #[test]
    fn a_period_covers_its_days_and_an_open_end_runs_on() {
        let two_weeks = Period::new(Some(d("2026-05-04")), Some(d("2026-05-15")));
        assert!(!two_weeks.covers(d("2026-05-03")));
        assert!(two_weeks.covers(d("2026-05-04")) && two_weeks.covers(d("2026-05-15")));
        assert!(!two_weeks.covers(d("2026-05-16")));
        let open = Period::new(Some(d("2026-05-04")), None);
        assert!(open.covers(d("2030-01-01")));
        assert!(Period::default().covers(d("2026-01-01")));
    }

    #[test]
    fn periods_overlap_when_they_share_a_day() {
        let may = Period::new(Some(d("2026-05-01")), Some(d("2026-05-31")));
        let june = Period::new(Some(d("2026-06-01")), Some(d("2026-06-30")));
        let last_of_may = Period::new(Some(d("2026-05-31")), None);
        assert!(!may.overlaps(&june) && !june.overlaps(&may));
        assert!(may.overlaps(&last_of_may) && last_of_may.overlaps(&june));
        assert!(Period::default().overlaps(&may));
        let until_april = Period::new(None, Some(d("2026-04-30")));
        assert!(!until_april.overlaps(&may));
    }

    #[test]
    fn a_period_that_ends_before_it_starts_or_before_today_is_refused() {
        let today = d("2026-05-10");
        let backwards = Period::new(Some(d("2026-05-20")), Some(d("2026-05-12")));
        assert_eq!(
            backwards.check(today).err().map(|t| t.key),
            Some("deputy.ends_before_start")
        );
        let past = Period::new(Some(d("2026-04-01")), Some(d("2026-05-09")));
        assert!(past.check(today).is_err());
        assert!(Period::new(None, Some(today)).check(today).is_ok());
    }

    #[test]
    fn a_name_is_one_line_of_words() {
        assert!(check_name("Anna Bech").is_ok());
        assert!(check_name("  ").is_err());
        assert!(check_name("Anna\r\nBcc: x@y").is_err());
        assert!(check_name(&"a".repeat(MAX_TITLE_CHARS + 1)).is_err());
    }
}
