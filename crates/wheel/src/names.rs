//! The names people read for the wheel's deadlines and steps, in Danish and English.
//! One table for the mail and the dashboard, so they never call a thing by two names.

use crate::Language;

/// A deadline's name for people.
pub fn deadline_name(key: &str, language: Language) -> String {
    let (da, en) = match key {
        "data_collected" => (
            "Dataindsamling og foranalyse",
            "Data collection and pre-analysis",
        ),
        "themes_published" => ("Fokustemaer offentliggjort", "Focus themes published"),
        "dialogue_held" => ("Kvalitetssamtale", "Quality dialogue"),
        "report_final" => ("Kvalitetsrapport endelig", "Quality report final"),
        "agreement_signed" => (
            "Sammenhængsaftale underskrevet",
            "Coherence agreement signed",
        ),
        "midway_status" => ("Midtvejsstatus", "Midway status"),
        other => (other, other),
    };
    match language {
        Language::Da => da.to_owned(),
        Language::En => en.to_owned(),
    }
}

/// A step's name for people.
pub fn step_name(key: &str, language: Language) -> String {
    let (da, en) = match key {
        "awaiting_dialogue" => ("Afventer kvalitetssamtale", "Awaiting the dialogue"),
        "awaiting_report" => ("Afventer kvalitetsrapport", "Awaiting the report"),
        "awaiting_agreement" => ("Afventer sammenhængsaftale", "Awaiting the agreement"),
        "awaiting_signature" => ("Afventer underskrift", "Awaiting signature"),
        "in_force" => ("Aftale i kraft", "Agreement in force"),
        "midway_given" => ("Midtvejsstatus givet", "Midway status given"),
        other => (other, other),
    };
    match language {
        Language::Da => da.to_owned(),
        Language::En => en.to_owned(),
    }
}
