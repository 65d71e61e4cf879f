//! How much one person may hand hjul at once. Every text a person writes is bounded, so
//! one careless (or hostile) request costs milliseconds and kilobytes, never the service.
//! `docs/files.md` lists these for people; a refusal says which limit and by how much.

use crate::text::Text;

/// The largest agreement or grades file, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Goals in one agreement (weights of at least 1 % each add up to 100 %; real agreements
/// have a handful).
pub const MAX_GOALS: usize = 40;
/// Characters in a goal's title, a theme, a person's or a unit's name.
pub const MAX_TITLE_CHARS: usize = 200;
/// Characters in a goal's baseline, criteria, one activity, or a grade's note.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Activities of one goal.
pub const MAX_ACTIVITIES: usize = 20;
/// Characters in the notes of a quality dialogue or the reason of a correction.
pub const MAX_NOTES_CHARS: usize = 20_000;
/// Characters of a dialogue's notes marked to be quoted in the quality report: a
/// committee reads every one, and one report holds them all.
pub const MAX_REPORT_NOTES_CHARS: usize = 2_000;
/// Focus themes published at once.
pub const MAX_THEMES: usize = 30;
/// The largest file the command line reads at all (a measurement file of a million rows
/// fits): a bigger one is refused before it is read.
pub const MAX_READ_BYTES: u64 = 128 * 1024 * 1024;
/// Rows of an organisation file (all of Denmark's children and youth units fit).
pub const MAX_ORG_ROWS: usize = 50_000;
/// Problems reported for one file or form; the rest are counted.
pub const MAX_PROBLEMS: usize = 50;

/// `text` cut to at most `max` characters, with `…` where it was cut: for texts that go
/// into a log or an audit row whatever a person sent.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Whether `c` breaks a line: control characters and the Unicode line and paragraph
/// separators (U+2028, U+2029), which calendars and mail headers treat as line breaks.
pub fn breaks_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The notes of a dialogue, or the reason for a correction: at most
/// [`MAX_NOTES_CHARS`].
pub fn check_notes(text: &str) -> Result<(), Text> {
    check_chars(text, MAX_NOTES_CHARS, "limit.notes")
}

/// The notes of a dialogue marked for the report: at most [`MAX_REPORT_NOTES_CHARS`]
/// (unmarked, they may be as long as any notes).
pub fn check_report_notes(text: &str) -> Result<(), Text> {
    check_chars(text, MAX_REPORT_NOTES_CHARS, "limit.report_notes")
}

/// A text of at most `max` characters, or `key`'s words with the count and the most.
fn check_chars(text: &str, max: usize, key: &'static str) -> Result<(), Text> {
    let n = text.chars().count();
    if n > max {
        return Err(Text::new(key).arg("count", n).arg("max", max));
    }
    Ok(())
}

/// Focus themes: at most [`MAX_THEMES`], each on one line, not empty, at most
/// [`MAX_TITLE_CHARS`].
pub fn check_themes(themes: &[String]) -> Result<(), Text> {
    if themes.len() > MAX_THEMES {
        return Err(Text::new("limit.themes")
            .arg("count", themes.len())
            .arg("max", MAX_THEMES));
    }
    for (i, t) in themes.iter().enumerate() {
        let n = i + 1;
        if t.trim().is_empty() {
            return Err(Text::new("limit.theme_empty").arg("n", n));
        }
        if t.chars().any(breaks_line) {
            return Err(Text::new("limit.theme_line_break").arg("n", n));
        }
        if t.chars().count() > MAX_TITLE_CHARS {
            return Err(Text::new("limit.theme_too_long")
                .arg("n", n)
                .arg("max", MAX_TITLE_CHARS));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("æøåæ", 3), "æøå…");
        assert!(breaks_line('\u{2028}') && breaks_line('\n') && !breaks_line('a'));
    }
}
