//! The names people read for the wheel's deadlines and steps, in Danish and English,
//! from the message catalogue: one table for the mail and the dashboard, so they never
//! call a thing by two names.

use crate::Language;
use crate::text::Catalogue;

/// A deadline's name for people.
pub fn deadline_name(key: &str, language: Language) -> String {
    name("deadline", key, language)
}

/// A step's name for people.
pub fn step_name(key: &str, language: Language) -> String {
    name("step", key, language)
}

fn name(group: &str, key: &str, language: Language) -> String {
    Catalogue::wheel(language)
        .get(&format!("{group}.{key}"))
        .unwrap_or(key)
        .to_owned()
}
