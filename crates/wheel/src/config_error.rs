//! Errors in a file a person hands hjul (the wheel definition, the indicator catalogue, an
//! agreement, grades): every problem with the line and the key it concerns, and what to
//! do. A file full of mistakes gets at most [`MAX_PROBLEMS`] of them, then a count, so
//! one careless file cannot make an answer of megabytes.

use std::fmt;

use crate::limits::MAX_PROBLEMS;
use crate::text::Text;

/// One thing wrong in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The key the problem concerns, as a path (`deadline.agreement_signed.opens.after`).
    pub key: String,
    /// What is wrong and what to do, in English.
    pub message: String,
    /// The same for people in their own language, for the files people write (agreements
    /// and grades); `None` for the secretariat's configuration files.
    pub text: Option<Text>,
    /// The goal or grade (1-based) the problem concerns, and its field: where a form shows
    /// it.
    pub item: Option<usize>,
    pub field: Option<&'static str>,
}

impl Problem {
    pub fn new(line: Option<usize>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            key: key.into(),
            message: message.into(),
            text: None,
            item: None,
            field: None,
        }
    }

    /// A problem people read in their own language; `message` is its English.
    pub fn text(line: Option<usize>, key: impl Into<String>, text: Text) -> Self {
        Self {
            message: text.to_string(),
            text: Some(text),
            ..Self::new(line, key, String::new())
        }
    }

    #[must_use]
    pub fn at(mut self, item: Option<usize>, field: Option<&'static str>) -> Self {
        self.item = item;
        self.field = field;
        self
    }
}

/// A file that could not be loaded; holds every problem found (up to [`MAX_PROBLEMS`]),
/// not only the first, so a person can fix them all in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{} is not valid ({n} problem{}):",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", self.file)?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            if p.key.is_empty() {
                write!(f, ": {}", p.message)?;
            } else {
                write!(f, ": {}: {}", p.key, p.message)?;
            }
        }
        Ok(())
    }
}

/// Where each line of a text starts, to turn byte offsets into line numbers in
/// logarithmic time (finding lines by rescanning the text for each problem made a
/// file of many problems cost the square of its size).
#[derive(Debug, Clone)]
pub(crate) struct Lines(Vec<usize>);

impl Lines {
    pub fn new(text: &str) -> Self {
        Self(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    /// The 1-based line of byte `offset`.
    pub fn of(&self, offset: usize) -> usize {
        self.0.partition_point(|nl| *nl < offset) + 1
    }

    /// The line a CSV record starts on, from the byte offset the csv reader gives: after a
    /// `\r\n` line end the reader places the record at the `\n`, and its own line count
    /// is then one short (a file Excel writes on Windows would name the line above).
    pub fn of_record(&self, text: &str, offset: u64) -> usize {
        let mut at = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        while text
            .as_bytes()
            .get(at)
            .is_some_and(|b| *b == b'\n' || *b == b'\r')
        {
            at += 1;
        }
        self.of(at)
    }
}

/// The 1-based line of a byte offset in `text` (for one lookup; use [`Lines`] for many).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    Lines::new(text).of(offset)
}

/// Turns a TOML (syntax or shape) error into a problem with its line and, where the line
/// starts with one, its key.
pub(crate) fn from_toml(text: &str, err: &toml::de::Error) -> Problem {
    let line = err.span().map(|s| line_of(text, s.start));
    let key = line
        .and_then(|l| text.lines().nth(l - 1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_default();
    Problem::new(line, key, err.message().trim())
}

/// Collects problems while a file is checked: the first [`MAX_PROBLEMS`], and how many
/// more there were.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
    pub more: usize,
}

impl Problems {
    pub fn add(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.push(Problem::new(line, key, message));
    }

    pub fn push(&mut self, problem: Problem) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many were found, the counted ones too.
    pub fn count(&self) -> usize {
        self.list.len() + self.more
    }

    /// Whether the list is full: checking more only counts them.
    pub fn full(&self) -> bool {
        self.list.len() >= MAX_PROBLEMS
    }

    /// The problems, with one more that says how many were left out.
    pub fn finish(mut self) -> Vec<Problem> {
        if self.more > 0 {
            self.list.push(Problem::text(
                None,
                "",
                Text::new("problem.more").arg("count", self.more),
            ));
        }
        self.list
    }

    pub fn into_result<T>(self, file: &str, value: T) -> Result<T, ConfigError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                file: file.to_owned(),
                problems: self.finish(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let text = "a = 1\nb = 2\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 5), 1);
        assert_eq!(line_of(text, 6), 2);
        let lines = Lines::new(text);
        assert_eq!(lines.of(11), 2);
        assert_eq!(lines.of(12), 3);
    }

    #[test]
    fn many_problems_end_in_a_count() {
        let mut p = Problems::default();
        for i in 0..(MAX_PROBLEMS + 7) {
            p.add(Some(i), "k", "bad");
        }
        assert!(p.full());
        let list = p.finish();
        assert_eq!(list.len(), MAX_PROBLEMS + 1);
        assert_eq!(
            list.last().map(|p| p.message.as_str()),
            Some("… and 7 more problems: fix these and try again")
        );
    }

    #[test]
    fn display_lists_every_problem_with_file_and_line() {
        let e = ConfigError {
            file: "config/wheel.toml".into(),
            problems: vec![
                Problem::new(Some(3), "cycle.start_quarter", "must be 1, 2, 3 or 4"),
                Problem::new(None, "", "no phases"),
            ],
        };
        assert_eq!(
            e.to_string(),
            "config/wheel.toml is not valid (2 problems):\n  \
             config/wheel.toml:3: cycle.start_quarter: must be 1, 2, 3 or 4\n  \
             config/wheel.toml: no phases"
        );
    }
}
