//! The audit log as a secretary reads it: each row a sentence in the page's language
//! ("Bo Nielsen registrerede kvalitetssamtalen for Børnehuset Spiren den 02.04.2026"),
//! the person's name where the row holds their address, and what changed as fields
//! before and after. The rows stay as they were written; only their reading is here.

use hjul_store::{AuditEntry, Directory};
use hjul_wheel::Text;
use serde_json::Value;

use super::{Lang, Words};

/// One row, readable.
pub struct Readable {
    /// Who did it: their name when hjul knows the address, else as recorded.
    pub who: String,
    pub sentence: String,
    /// The unit it is about (id, name).
    pub unit: Option<(String, String)>,
    /// What changed: `field: before → after`, one per field that differs.
    pub changes: Vec<String>,
}

/// The actions the log's filter offers, in the order it lists them.
pub const ACTIONS: [&str; 27] = [
    "unit.dialogue_held",
    "unit.agreement_submitted",
    "unit.agreement_signed",
    "unit.goal_status_given",
    "unit.agreement_reviewed",
    "unit.midway_given",
    "unit.correct",
    "milestone.record",
    "cycle.start",
    "unit.create",
    "unit.update",
    "unit.deactivate",
    "unit.joins",
    "person.create",
    "person.update",
    "deputy.name",
    "deputy.end",
    "data.import",
    "outbox.retry",
    "token.create",
    "token.revoke",
    "session.open",
    "session.end_all",
    "setting.change",
    "standing.rebuild",
    "retention.apply",
    "refused",
];

/// The sentence's key for an action (a key of the catalogue is fixed text).
fn says(action: &str) -> &'static str {
    match action {
        "unit.dialogue_held" => "audit.says.dialogue_held",
        "unit.agreement_submitted" => "audit.says.agreement_submitted",
        "unit.agreement_signed" => "audit.says.agreement_signed",
        "unit.goal_status_given" => "audit.says.goal_status_given",
        "unit.agreement_reviewed" => "audit.says.agreement_reviewed",
        "unit.midway_given" => "audit.says.midway_given",
        "unit.correct" => "audit.says.correct",
        "milestone.record" => "audit.says.milestone",
        "cycle.start" => "audit.says.cycle_start",
        "unit.create" => "audit.says.unit_create",
        "unit.update" => "audit.says.unit_update",
        "unit.deactivate" => "audit.says.unit_deactivate",
        "unit.joins" => "audit.says.unit_joins",
        "person.create" => "audit.says.person_create",
        "person.update" => "audit.says.person_update",
        "deputy.name" => "audit.says.deputy_name",
        "deputy.end" => "audit.says.deputy_end",
        "data.import" => "audit.says.data_import",
        "outbox.retry" => "audit.says.outbox_retry",
        "token.create" => "audit.says.token_create",
        "token.revoke" => "audit.says.token_revoke",
        "session.open" => "audit.says.session_open",
        "session.end_all" => "audit.says.session_end_all",
        "setting.change" => "audit.says.setting_change",
        "standing.rebuild" => "audit.says.standing_rebuild",
        "retention.apply" => "audit.says.retention",
        "refused" => "audit.says.refused",
        _ => "audit.says.other",
    }
}

/// The fields of a row's record that its sentence may name.
const FIELDS: [&str; 10] = [
    "on",
    "cycle",
    "revision",
    "name",
    "email",
    "file",
    "milestone",
    "role",
    "key",
    "value",
];

/// Who an actor is, as people know them: the name for an address hjul knows (a leader
/// or a deputy), the words before " (" for a deputy's stamp ("Camilla Lund for Anna
/// Bech"), else as recorded without the channel (`api:`, `oidc:`).
pub fn who(dir: &Directory, actor: &str) -> String {
    if let Some((named, _)) = actor.split_once(" (")
        && !named.contains('@')
    {
        return named.to_owned();
    }
    let bare = actor.trim_start_matches("api:").trim_start_matches("oidc:");
    let email = bare
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|w| w.contains('@'));
    email
        .and_then(|e| dir.person_name(e))
        .map_or_else(|| bare.to_owned(), str::to_owned)
}

/// A JSON value as a person reads it.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(_) => v.to_string(),
        other => other.to_string(),
    }
}

fn object(text: Option<&str>) -> serde_json::Map<String, Value> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

/// One row as a secretary reads it, in `lang`.
pub fn readable(words: &Words, lang: Lang, dir: &Directory, row: &AuditEntry) -> Readable {
    let who = who(dir, &row.actor);
    let before = object(row.before.as_deref());
    let after = object(row.after.as_deref());
    let unit = (row.entity == "unit").then(|| {
        let name = dir
            .unit_name(&row.entity_id)
            .unwrap_or(&row.entity_id)
            .to_owned();
        (row.entity_id.clone(), name)
    });
    let mut text = Text::new(says(&row.action))
        .arg("who", who.clone())
        .arg(
            "unit",
            unit.as_ref()
                .map_or_else(|| row.entity_id.clone(), |(_, n)| n.clone()),
        )
        .arg("action", row.action.clone());
    for f in FIELDS {
        let value = after.get(f).or_else(|| before.get(f)).map(plain);
        // A day in the reader's way of writing it.
        text = match value.as_deref().map(str::parse::<chrono::NaiveDate>) {
            Some(Ok(day)) => text.arg(f, day),
            _ => text.arg(f, value.unwrap_or_default()),
        };
    }
    if row.action == "refused" {
        let attempted = after.get("attempted").map(plain).unwrap_or_default();
        // What was tried, in the reader's words when the catalogue has them.
        let attempted = words
            .of(lang)
            .get(&format!("audit.attempted.{}", attempted.replace(' ', "_")))
            .map_or(attempted, str::to_owned);
        // The reason in the page's language when the row kept it in Danish too.
        let reason = match lang {
            Lang::Da => after.get("reason_da").or_else(|| after.get("reason")),
            Lang::En => after.get("reason"),
        }
        .map(plain)
        .unwrap_or_default();
        text = text.arg("attempted", attempted).arg("reason", reason);
    }
    let sentence = words.text(lang, &text);
    // For a change (a record before and after), each field that differs.
    let mut changes = Vec::new();
    // A field in the reader's words when the catalogue has it, else as recorded.
    let field = |k: &str| {
        words
            .of(lang)
            .get(&format!("audit.field.{k}"))
            .map_or_else(|| k.to_owned(), str::to_owned)
    };
    if !before.is_empty() && !after.is_empty() {
        for (k, b) in &before {
            let a = after.get(k).unwrap_or(&Value::Null);
            if a != b {
                changes.push(format!("{}: {} → {}", field(k), plain(b), plain(a)));
            }
        }
        for (k, a) in &after {
            if !before.contains_key(k) {
                changes.push(format!("{}: – → {}", field(k), plain(a)));
            }
        }
    }
    Readable {
        who,
        sentence,
        unit,
        changes,
    }
}
