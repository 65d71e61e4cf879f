//! The dashboard's words: the wheel's catalogue and the dashboard's own
//! (`messages/da.toml`, `messages/en.toml`), one catalogue per language, and the
//! template functions that read them (`t("key", name=value)`, `|day`, `|pct`).

use std::sync::Arc;

use hjul_wheel::text::{Catalogue, fill};
use hjul_wheel::{Language, Text};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};

pub const UI_DA: &str = include_str!("../../messages/da.toml");
pub const UI_EN: &str = include_str!("../../messages/en.toml");

/// A page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

impl Lang {
    pub fn key(self) -> &'static str {
        match self {
            Self::Da => "da",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "en" { Self::En } else { Self::Da }
    }

    pub fn language(self) -> Language {
        match self {
            Self::Da => Language::Da,
            Self::En => Language::En,
        }
    }
}

/// Both languages' catalogues, the wheel's and the dashboard's words together.
#[derive(Debug)]
pub struct Words {
    da: Catalogue,
    en: Catalogue,
}

impl Words {
    pub fn load() -> Result<Self, hjul_wheel::text::CatalogueError> {
        Ok(Self {
            da: Catalogue::wheel(Language::Da).with(UI_DA)?,
            en: Catalogue::wheel(Language::En).with(UI_EN)?,
        })
    }

    /// No words at all: pages then show their keys.
    pub fn empty() -> Self {
        Self {
            da: Catalogue::parse(Language::Da, "")
                .unwrap_or_else(|_| Catalogue::wheel(Language::Da).clone()),
            en: Catalogue::parse(Language::En, "")
                .unwrap_or_else(|_| Catalogue::wheel(Language::En).clone()),
        }
    }

    pub fn of(&self, lang: Lang) -> &Catalogue {
        match lang {
            Lang::Da => &self.da,
            Lang::En => &self.en,
        }
    }

    /// A word of the catalogue.
    pub fn word(&self, lang: Lang, key: &str) -> String {
        self.of(lang).word(key).to_owned()
    }

    pub fn text(&self, lang: Lang, text: &Text) -> String {
        self.of(lang).render(text)
    }
}

fn lang_of(state: &State<'_, '_>) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(Lang::parse))
        .unwrap_or(Lang::Da)
}

/// Registers `t`, `day` and `pct` in the pages' environment.
pub fn register(env: &mut Environment<'static>, words: Arc<Words>) {
    let w = Arc::clone(&words);
    env.add_function(
        "t",
        move |state: &State<'_, '_>, key: &str, kwargs: Kwargs| -> String {
            let cat = w.of(lang_of(state));
            let out = fill(cat.word(key), |name| {
                kwargs.get::<Value>(name).ok().map(|v| v.to_string())
            });
            let _ = kwargs.assert_all_used();
            out
        },
    );
    let w = Arc::clone(&words);
    env.add_filter(
        "day",
        move |state: &State<'_, '_>, value: Value| -> String {
            let text = value.to_string();
            match hjul_wheel::agreement::parse_date(&text) {
                Some(d) => w.of(lang_of(state)).date(d),
                None => text,
            }
        },
    );
    let w = Arc::clone(&words);
    env.add_filter("pct", move |state: &State<'_, '_>, value: f64| -> String {
        w.of(lang_of(state)).percent(value)
    });
    env.add_filter("word", move |state: &State<'_, '_>, key: &str| -> String {
        words.of(lang_of(state)).word(key).to_owned()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_word() {
        let words = Words::load().unwrap();
        let da: Vec<&str> = words.da.keys().collect();
        let en: Vec<&str> = words.en.keys().collect();
        let missing_en: Vec<&&str> = da.iter().filter(|k| words.en.get(k).is_none()).collect();
        let missing_da: Vec<&&str> = en.iter().filter(|k| words.da.get(k).is_none()).collect();
        assert!(
            missing_en.is_empty(),
            "not in messages/en.toml: {missing_en:?}"
        );
        assert!(
            missing_da.is_empty(),
            "not in messages/da.toml: {missing_da:?}"
        );
        for k in da {
            hjul_wheel::text::assert_same_placeholders(k, words.da.word(k), words.en.word(k));
        }
    }

    /// Every `t("…")` in the templates and every `ui("…")` in the dashboard's code names a
    /// word that exists.
    #[test]
    fn every_word_used_exists() {
        let words = Words::load().unwrap();
        let mut sources: Vec<(&str, &str)> = super::super::TEMPLATES.to_vec();
        sources.extend(super::super::SOURCES);
        let mut missing = Vec::new();
        for (name, text) in sources {
            for call in ["t(\"", "Text::new(\"", "word(\""] {
                let mut from = 0;
                while let Some(i) = text[from..].find(call) {
                    let at = from + i;
                    from = at + call.len();
                    // `t("` in `request("` is not a call of `t`.
                    let before = text[..at].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let key: String = text[from..].chars().take_while(|c| *c != '"').collect();
                    if key.contains('{') || key.is_empty() || key.ends_with('.') {
                        continue;
                    }
                    if words.da.get(&key).is_none() {
                        missing.push(format!("{name}: {key}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "words not in the catalogues:\n{}",
            missing.join("\n")
        );
    }

    /// The names the pages build from a group and a key (`step.{key}`) exist for every
    /// key there is.
    #[test]
    fn every_name_built_from_a_key_exists() {
        use hjul_wheel::{Area, Deadline, Dimension, EventKind, GoalKind, Grade, Horizon, Step};
        let words = Words::load().unwrap();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(Step::ALL.iter().map(|s| format!("step.{}", s.key())));
        keys.push("step.none".into());
        keys.extend(
            Deadline::ALL
                .iter()
                .map(|d| format!("deadline.{}", d.key())),
        );
        keys.extend(EventKind::ALL.iter().map(|k| format!("event.{}", k.key())));
        keys.extend(Area::ALL.iter().map(|a| format!("area.{}", a.key())));
        keys.extend(
            Dimension::ALL
                .iter()
                .map(|d| format!("dimension.{}", d.key())),
        );
        keys.extend(GoalKind::ALL.iter().map(|k| format!("kind.{}", k.key())));
        keys.extend(Horizon::ALL.iter().map(|h| format!("horizon.{}", h.key())));
        keys.extend(Grade::ALL.iter().map(|g| format!("grade.{}", g.key())));
        for (group, list) in [
            (
                "agreement_state",
                &["awaiting_signature", "in_force", "midway_given"][..],
            ),
            (
                "party",
                &[
                    "secretariat",
                    "director",
                    "leader",
                    "superior",
                    "superior_of_superior",
                ],
            ),
            ("state", &["met", "waiting", "not_open", "open", "overdue"]),
            (
                "outbox.state",
                &["pending", "sent", "dead", "folded", "void"],
            ),
            (
                "outbox.kind",
                &[
                    "opened",
                    "reminder",
                    "overdue",
                    "escalation",
                    "digest",
                    "dead_letter",
                ],
            ),
            ("role", &["secretariat", "manager", "leader"]),
            ("correct.action", &["redate", "move", "withdraw"]),
            (
                "error.status",
                &[
                    "400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503",
                ],
            ),
            (
                "error.title",
                &[
                    "400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503",
                    "other",
                ],
            ),
        ] {
            keys.extend(list.iter().map(|k| format!("{group}.{k}")));
        }
        let missing: Vec<&String> = keys.iter().filter(|k| words.da.get(k).is_none()).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }
}
