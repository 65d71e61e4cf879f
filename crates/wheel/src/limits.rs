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

/// The Unicode format characters (general category Cf, Unicode 15.1): invisible, and
/// some turn the text around them (U+202E writes what follows right to left), so a name
/// holding one can show as another in a mail, a calendar or the report.
pub const FORMAT_RANGES: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is a format character (Unicode category Cf).
pub fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_RANGES
        .iter()
        .any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

/// Whether `c` is drawn as a picture (an emoji): between two of them a zero-width joiner
/// makes one picture of several, and is kept.
fn is_pictograph(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF)
}

/// The first character of `text` that cannot be seen or that turns the text around it
/// (a format character, but a zero-width joiner between two emoji), with its column
/// (counted in characters from 1).
pub fn hidden_char(text: &str) -> Option<(usize, char)> {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        let joins_pictures = c == '\u{200D}'
            && i > 0
            && chars.get(i - 1).copied().is_some_and(is_pictograph)
            && chars.get(i + 1).copied().is_some_and(is_pictograph);
        (is_format(c) && !joins_pictures).then_some((i + 1, c))
    })
}

/// A name, a title or a theme holds nothing invisible that could make it show as
/// something else: the refusal says where (the column) and which character.
pub fn check_visible(text: &str) -> Result<(), Text> {
    match hidden_char(text) {
        None => Ok(()),
        Some((column, c)) => Err(Text::new("limit.hidden")
            .arg("column", column)
            .arg("code", format!("U+{:04X}", u32::from(c)))),
    }
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
        check_visible(t)?;
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
    fn hidden_characters_are_found_where_they_are() {
        for (text, at) in [
            ("Bo\u{202E}nielsen", Some((3, '\u{202E}'))),
            ("\u{200E}Anna", Some((1, '\u{200E}'))),
            ("Spi\u{00AD}ren", Some((4, '\u{00AD}'))),
            ("\u{FEFF}Trivsel", Some((1, '\u{FEFF}'))),
            ("Sprog og læsning", None),
            ("Ægir Østergård-Åberg", None),
            // A family of emoji is kept; a joiner between letters is not.
            ("Team 👩\u{200D}👧", None),
            ("a\u{200D}b", Some((2, '\u{200D}'))),
        ] {
            assert_eq!(hidden_char(text), at, "{text:?}");
        }
        let t = check_visible("Bo\u{202E}x").unwrap_err();
        assert!(t.to_string().contains("U+202E"), "{t}");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("æøåæ", 3), "æøå…");
        assert!(breaks_line('\u{2028}') && breaks_line('\n') && !breaks_line('a'));
    }
}
