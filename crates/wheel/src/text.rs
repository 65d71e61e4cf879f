//! Words for people, in Danish and English.
//!
//! What hjul tells a person — a refusal, a problem in a goal, the name of a step — is a
//! [`Text`]: a key into a message catalogue with its arguments, rendered in the reader's
//! language. The catalogues are the files `messages/da.toml` and `messages/en.toml`, built
//! into the binary; a test checks that both have every key and the same placeholders.
//! Other crates add catalogues of their own words with [`Catalogue::with`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::org::Language;

/// The wheel's own words.
pub const DA: &str = include_str!("../messages/da.toml");
pub const EN: &str = include_str!("../messages/en.toml");

/// A message for people: a catalogue key and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

/// One argument of a [`Text`], rendered in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    /// Shown as it is: a person's words, an id, a file name.
    Plain(String),
    Number(i64),
    Date(NaiveDate),
    /// A catalogue key, shown as the catalogue's words for it (`deadline.dialogue_held`).
    Key(String),
    /// Another message, rendered in place.
    Text(Box<Text>),
    /// Several, as `a, b and c`.
    List(Vec<Arg>),
    /// A name given in both languages by data (an indicator, a phase).
    Names {
        da: String,
        en: String,
    },
}

impl Text {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl Into<Arg>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// Rendered with the wheel's catalogue.
    pub fn render(&self, language: Language) -> String {
        Catalogue::wheel(language).render(self)
    }
}

impl fmt::Display for Text {
    /// In English: for logs, the command line and the API.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Language::En))
    }
}

impl Arg {
    /// A number with a fraction, as each language writes it: `86,1` in Danish, `86.1`
    /// in English (at most two decimals, no trailing zeros).
    pub fn decimal(value: f64) -> Self {
        let en = format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned();
        Self::Names {
            da: en.replace('.', ","),
            en,
        }
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self::Plain(s)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self::Plain(s.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Self::Plain(s.clone())
    }
}

impl From<NaiveDate> for Arg {
    fn from(d: NaiveDate) -> Self {
        Self::Date(d)
    }
}

impl From<Text> for Arg {
    fn from(t: Text) -> Self {
        Self::Text(Box::new(t))
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Self::Number(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
number_args!(i32, i64, u8, u16, u32, u64, usize);

/// A catalogue key for a named thing (`deadline.dialogue_held`).
pub fn key(group: &str, name: &str) -> Arg {
    Arg::Key(format!("{group}.{name}"))
}

/// One language's messages, by key.
#[derive(Debug, Clone)]
pub struct Catalogue {
    language: Language,
    messages: BTreeMap<String, String>,
}

/// A catalogue file that cannot be read: a build defect the tests catch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message catalogue: {0}")]
pub struct CatalogueError(String);

impl Catalogue {
    /// Reads a catalogue file: TOML whose tables nest keys (`[refusal] in_future = "…"` is
    /// `refusal.in_future`).
    pub fn parse(language: Language, text: &str) -> Result<Self, CatalogueError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| CatalogueError(e.to_string()))?;
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages)?;
        Ok(Self { language, messages })
    }

    /// The wheel's catalogue for `language`.
    pub fn wheel(language: Language) -> &'static Catalogue {
        static DA_CAT: OnceLock<Catalogue> = OnceLock::new();
        static EN_CAT: OnceLock<Catalogue> = OnceLock::new();
        let (cell, text) = match language {
            Language::Da => (&DA_CAT, DA),
            Language::En => (&EN_CAT, EN),
        };
        cell.get_or_init(|| {
            // Built in and checked by the tests; were it broken, an empty catalogue shows
            // keys rather than stopping the service.
            Self::parse(language, text).unwrap_or_else(|_| Self {
                language,
                messages: BTreeMap::new(),
            })
        })
    }

    /// This catalogue with another's messages added; a key in both is an error.
    pub fn with(&self, other: &str) -> Result<Self, CatalogueError> {
        let more = Self::parse(self.language, other)?;
        let mut messages = self.messages.clone();
        for (k, v) in more.messages {
            if messages.insert(k.clone(), v).is_some() {
                return Err(CatalogueError(format!("`{k}` is in two catalogues")));
            }
        }
        Ok(Self {
            language: self.language,
            messages,
        })
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    /// The words for `key`, or `None` when the catalogue lacks it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.messages.get(key).map(String::as_str)
    }

    /// The words for `key`; the key itself when missing (a test makes sure none is).
    pub fn word<'a>(&'a self, key: &'a str) -> &'a str {
        self.get(key).unwrap_or(key)
    }

    pub fn render(&self, text: &Text) -> String {
        let template = self.word(text.key);
        fill(template, |name| {
            text.args
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, a)| self.arg(a))
        })
    }

    pub fn arg(&self, arg: &Arg) -> String {
        match arg {
            Arg::Plain(s) => s.clone(),
            Arg::Number(n) => n.to_string(),
            Arg::Date(d) => self.date(*d),
            Arg::Key(k) => self.word(k).to_owned(),
            Arg::Text(t) => self.render(t),
            Arg::List(items) => {
                let words: Vec<String> = items.iter().map(|a| self.arg(a)).collect();
                self.list(&words)
            }
            Arg::Names { da, en } => match self.language {
                Language::Da => da.clone(),
                Language::En => en.clone(),
            },
        }
    }

    /// A date as people in this language write it: `14.03.2026`, `2026-03-14`.
    pub fn date(&self, d: NaiveDate) -> String {
        match self.language {
            Language::Da => format!("{:02}.{:02}.{}", d.day(), d.month(), d.year()),
            Language::En => d.format("%Y-%m-%d").to_string(),
        }
    }

    /// A percentage with one decimal: `50,0 %`, `50.0 %`.
    pub fn percent(&self, value: f64) -> String {
        format!("{} %", self.decimal(value, 1))
    }

    /// A number with `places` decimals, the way this language writes it: `5,25`, `5.25`.
    pub fn decimal(&self, value: f64, places: usize) -> String {
        let s = format!("{value:.places$}");
        match self.language {
            Language::Da => s.replace('.', ","),
            Language::En => s,
        }
    }

    /// `a, b and c` / `a, b og c`.
    pub fn list(&self, words: &[String]) -> String {
        match words {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} {} {last}", init.join(", "), self.word("word.and")),
        }
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), CatalogueError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(CatalogueError(format!("`{key}` is not text"))),
        }
    }
    Ok(())
}

/// Replaces each `{name}` in `template` with `value(name)`; an unknown one stays as it is.
pub fn fill(template: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let name = &after[..close];
                match value(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Checks that two languages' words for `key` use the same placeholders; `{detail}` (a
/// technical detail, such as a parser's own message) may be left out by either.
pub fn assert_same_placeholders(key: &str, a: &str, b: &str) {
    let strip = |t: &str| -> Vec<String> {
        placeholders(t)
            .into_iter()
            .filter(|p| p != "detail")
            .collect()
    };
    assert_eq!(strip(a), strip(b), "the placeholders of `{key}` differ");
}

/// The `{name}` placeholders of a template.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    fill(template, |n| {
        names.push(n.to_owned());
        Some(String::new())
    });
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_is_written_as_each_language_writes_it() {
        let t = Text::new("grade_problem.override")
            .arg("title", "Fravær")
            .arg("proposed", "x")
            .arg("given", "y")
            .arg("period", "2025/26")
            .arg("value", Arg::decimal(86.1));
        assert!(
            t.render(Language::Da).contains("2025/26: 86,1"),
            "{}",
            t.render(Language::Da)
        );
        assert!(t.render(Language::En).contains("2025/26: 86.1"), "{t}");
        assert_eq!(
            Arg::decimal(7.0),
            Arg::Names {
                da: "7".into(),
                en: "7".into()
            }
        );
    }

    #[test]
    fn both_catalogues_have_every_key_with_the_same_placeholders() {
        let da = Catalogue::parse(Language::Da, DA).unwrap();
        let en = Catalogue::parse(Language::En, EN).unwrap();
        let dk: Vec<&str> = da.keys().collect();
        let ek: Vec<&str> = en.keys().collect();
        let only_da: Vec<&&str> = dk.iter().filter(|k| en.get(k).is_none()).collect();
        let only_en: Vec<&&str> = ek.iter().filter(|k| da.get(k).is_none()).collect();
        assert!(only_da.is_empty(), "only in da.toml: {only_da:?}");
        assert!(only_en.is_empty(), "only in en.toml: {only_en:?}");
        for k in dk {
            assert_same_placeholders(k, da.word(k), en.word(k));
        }
    }

    #[test]
    fn texts_render_in_each_language() {
        let t = Text::new("refusal.in_future")
            .arg("on", NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .arg("today", NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(
            t.render(Language::En),
            "2026-12-01 is in the future (today is 2026-11-22); record events once they have happened"
        );
        assert!(
            t.render(Language::Da).contains("01.12.2026"),
            "{}",
            t.render(Language::Da)
        );
        let da = Catalogue::wheel(Language::Da);
        assert_eq!(da.percent(50.0), "50,0 %");
        assert_eq!(Catalogue::wheel(Language::En).percent(62.5), "62.5 %");
        assert_eq!(da.list(&["a".into(), "b".into(), "c".into()]), "a, b og c");
    }

    #[test]
    fn fill_leaves_what_is_not_a_placeholder() {
        assert_eq!(
            fill("{a} {b} {x y} {", |n| (n == "a").then(|| "1".into())),
            "1 {b} {x y} {"
        );
    }
}
