//! Errors in a configuration file (the wheel definition, the indicator catalogue): every
//! problem with the file, the line and the key it concerns, and what to do.

use std::fmt;

/// One thing wrong in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The key the problem concerns, as a path (`deadline.agreement_signed.opens.after`).
    pub key: String,
    pub message: String,
}

/// A configuration file that could not be loaded; holds every problem found, not only the
/// first, so a secretariat can fix them all in one go.
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

/// The 1-based line of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
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
    Problem {
        line,
        key,
        message: err.message().trim().to_owned(),
    }
}

/// Collects problems while a file is checked.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            line,
            key: key.into(),
            message: message.into(),
        });
    }

    pub fn into_result<T>(self, file: &str, value: T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                file: file.to_owned(),
                problems: self.0,
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
        assert_eq!(line_of(text, 6), 2);
    }

    #[test]
    fn display_lists_every_problem_with_file_and_line() {
        let e = ConfigError {
            file: "config/wheel.toml".into(),
            problems: vec![
                Problem {
                    line: Some(3),
                    key: "cycle.start_quarter".into(),
                    message: "must be 1, 2, 3 or 4".into(),
                },
                Problem {
                    line: None,
                    key: String::new(),
                    message: "no phases".into(),
                },
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
