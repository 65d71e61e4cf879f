//! The organisation file: units, their tree and their leaders, read from CSV and checked
//! as a whole before anything is written.
//!
//! Header: `unit_id,name,level,parent_id,area,leader_name,leader_email[,language]`.
//! Columns may come in any order. A file exported by a Danish Excel uses `;` between
//! fields; that is recognised from the header line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::organisation::{Area, Level};

/// An email address, checked and kept in lower case (addresses are compared without
/// case everywhere in hjul).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// A practical check, not RFC 5322: one `@`, a non-empty local part, a domain with a
    /// dot, no spaces, control characters or characters that mean something in a mail
    /// header (`<>,;:"()[]\`), at most 254 characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("is empty".into());
        }
        if t.chars().any(char::is_control) {
            return Err("contains a control character or a line break".into());
        }
        if t.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        if let Some(c) = t
            .chars()
            .find(|c| c.is_whitespace() || "<>,;:\"()[]\\".contains(*c))
        {
            return Err(format!(
                "`{t}` contains `{c}`, which an address cannot have"
            ));
        }
        let Some((local, domain)) = t.split_once('@') else {
            return Err(format!("`{t}` has no @"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(format!("`{t}` is not of the form name@domain"));
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(format!("`{t}` has no valid domain after the @"));
        }
        Ok(Self(t.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The language a person gets mail in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Da,
    En,
}

impl Language {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "da" => Some(Self::Da),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Da => "da",
            Self::En => "en",
        }
    }
}

/// A unit's id as the organisation file gives it: letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(String);

impl UnitId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("is empty".into());
        }
        if t.len() > 64 {
            return Err("is longer than 64 characters".into());
        }
        if let Some(c) = t
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
        {
            return Err(format!(
                "`{t}` contains `{}`: use letters a–z, digits, -, _ and .",
                c.escape_debug()
            ));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's or a unit's name: one line, no control characters, not empty. Names go into
/// mail headers, so a line break must never get through.
pub fn check_name(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("is empty".into());
    }
    if t.chars().any(char::is_control) {
        return Err("contains a line break or a control character; keep it on one line".into());
    }
    if t.chars().count() > 200 {
        return Err("is longer than 200 characters".into());
    }
    Ok(t.to_owned())
}

/// A unit's leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leader {
    pub name: String,
    pub email: Email,
    pub language: Language,
}

/// One unit of the organisation file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgUnit {
    pub id: UnitId,
    pub name: String,
    pub level: Level,
    pub parent: Option<UnitId>,
    pub area: Area,
    pub leader: Leader,
    /// The line it was read from.
    pub line: usize,
}

/// A whole organisation: one root at level 1, every other unit under a parent one level
/// up, no loops, one id each, one name and language per address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    units: Vec<OrgUnit>,
}

/// One thing wrong with the organisation file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line in the file; `None` for a problem with the file as a whole.
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.field) {
            (Some(l), Some(field)) => write!(f, "line {l}, {field}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            (None, Some(field)) => write!(f, "{field}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Every problem found in an organisation file; nothing is imported while there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OrgErrors(pub Vec<RowError>);

impl fmt::Display for OrgErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} in the organisation file, nothing was imported:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

const REQUIRED: [&str; 7] = [
    "unit_id",
    "name",
    "level",
    "parent_id",
    "area",
    "leader_name",
    "leader_email",
];
const OPTIONAL: [&str; 1] = ["language"];

impl Organisation {
    pub fn units(&self) -> &[OrgUnit] {
        &self.units
    }

    pub fn root(&self) -> Option<&OrgUnit> {
        self.units.iter().find(|u| u.parent.is_none())
    }

    /// Reads and checks an organisation file. `progress` is called with the number of
    /// rows read so far, for a progress bar on large files.
    pub fn from_csv(text: &str, mut progress: impl FnMut(usize)) -> Result<Self, OrgErrors> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first_line = text.lines().next().unwrap_or_default();
        let delimiter = if first_line.contains(';') && !first_line.contains(',') {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut errors = Vec::new();
        let file_error = |message: String| RowError {
            line: None,
            field: None,
            message,
        };

        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
            Err(e) => {
                return Err(OrgErrors(vec![file_error(format!(
                    "the header cannot be read: {e}"
                ))]));
            }
        };
        let mut column: HashMap<String, usize> = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
                errors.push(RowError {
                    line: Some(1),
                    field: None,
                    message: format!(
                        "unknown column `{name}`; the columns are {} and optionally language",
                        REQUIRED.join(", ")
                    ),
                });
            } else if column.insert(name.clone(), i).is_some() {
                errors.push(RowError {
                    line: Some(1),
                    field: None,
                    message: format!("column `{name}` appears twice"),
                });
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|c| !column.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            errors.push(RowError {
                line: Some(1),
                field: None,
                message: format!(
                    "the header lacks {}: it must name unit_id, name, level, parent_id, area, leader_name, leader_email (and optionally language)",
                    missing.join(", ")
                ),
            });
        }
        if !errors.is_empty() {
            return Err(OrgErrors(errors));
        }

        let mut units = Vec::new();
        let mut ids: Vec<(UnitId, usize)> = Vec::new();
        for (n, record) in reader.records().enumerate() {
            progress(n + 1);
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| usize::try_from(p.line()).unwrap_or(0));
                    errors.push(RowError {
                        line,
                        field: None,
                        message: format!("cannot be read as CSV: {e}"),
                    });
                    continue;
                }
            };
            let line = record
                .position()
                .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if record.len() != header.len() {
                errors.push(RowError {
                    line: Some(line),
                    field: None,
                    message: format!(
                        "has {} fields, the header has {}",
                        record.len(),
                        header.len()
                    ),
                });
                continue;
            }
            let get = |c: &str| column.get(c).and_then(|i| record.get(*i)).unwrap_or("");
            let mut bad = |field: &str, message: String| {
                errors.push(RowError {
                    line: Some(line),
                    field: Some(field.to_owned()),
                    message,
                });
            };
            let id = UnitId::parse(get("unit_id"))
                .map_err(|m| bad("unit_id", m))
                .ok();
            if let Some(id) = &id {
                // Every id read, even on a row with other problems: duplicates and parents
                // are checked against these, so one bad field is reported once.
                ids.push((id.clone(), line));
            }
            let name = check_name(get("name")).map_err(|m| bad("name", m)).ok();
            let level = get("level").trim().parse::<u8>().ok().and_then(Level::new);
            if level.is_none() {
                bad(
                    "level",
                    format!(
                        "`{}` is not a level: use 1 (director), 2 (chief), 3 (leader) or 4 (daycare house leader)",
                        get("level").trim()
                    ),
                );
            }
            let parent_text = get("parent_id").trim();
            let parent = if parent_text.is_empty() {
                Some(None)
            } else {
                UnitId::parse(parent_text)
                    .map(Some)
                    .map_err(|m| bad("parent_id", m))
                    .ok()
            };
            let area = Area::parse(&get("area").trim().to_lowercase());
            if area.is_none() {
                bad(
                    "area",
                    format!(
                        "`{}` is not an area: use daycare, school, family or department",
                        get("area").trim()
                    ),
                );
            }
            let leader_name = check_name(get("leader_name"))
                .map_err(|m| bad("leader_name", m))
                .ok();
            let email = Email::parse(get("leader_email"))
                .map_err(|m| bad("leader_email", m))
                .ok();
            let lang_text = get("language").trim().to_lowercase();
            let language = if lang_text.is_empty() {
                Some(Language::Da)
            } else {
                let l = Language::parse(&lang_text);
                if l.is_none() {
                    bad(
                        "language",
                        format!("`{lang_text}` is not a language: use da or en"),
                    );
                }
                l
            };
            if let (
                Some(id),
                Some(name),
                Some(level),
                Some(parent),
                Some(area),
                Some(leader_name),
                Some(email),
                Some(language),
            ) = (id, name, level, parent, area, leader_name, email, language)
            {
                units.push(OrgUnit {
                    id,
                    name,
                    level,
                    parent,
                    area,
                    leader: Leader {
                        name: leader_name,
                        email,
                        language,
                    },
                    line,
                });
            }
        }
        check_tree(&units, &ids, &mut errors);
        check_people(&units, &mut errors);
        if units.is_empty() && errors.is_empty() {
            errors.push(file_error("the file has no units".into()));
        }
        if errors.is_empty() {
            Ok(Self { units })
        } else {
            errors.sort_by_key(|e| e.line.unwrap_or(0));
            Err(OrgErrors(errors))
        }
    }
}

fn check_tree(units: &[OrgUnit], ids: &[(UnitId, usize)], errors: &mut Vec<RowError>) {
    let mut lines: HashMap<&str, usize> = HashMap::new();
    for (id, line) in ids {
        if let Some(first) = lines.get(id.as_str()) {
            errors.push(RowError {
                line: Some(*line),
                field: Some("unit_id".into()),
                message: format!("`{id}` is a duplicate id: line {first} has it already"),
            });
        } else {
            lines.insert(id.as_str(), *line);
        }
    }
    let mut by_id: HashMap<&str, &OrgUnit> = HashMap::new();
    for u in units {
        by_id.entry(u.id.as_str()).or_insert(u);
    }
    let roots: Vec<&OrgUnit> = units
        .iter()
        .filter(|u| u.level == Level::DIRECTOR)
        .collect();
    match roots.as_slice() {
        [] if !units.is_empty() => errors.push(RowError {
            line: None,
            field: None,
            message: "there is no unit at level 1: the organisation needs exactly one root (the director's unit)".into(),
        }),
        [_first, rest @ ..] => {
            for r in rest {
                errors.push(RowError {
                    line: Some(r.line),
                    field: Some("level".into()),
                    message: format!(
                        "a second unit at level 1: the organisation has exactly one root, and line {} is it",
                        roots[0].line
                    ),
                });
            }
        }
        _ => {}
    }
    for u in units {
        match (&u.parent, u.level == Level::DIRECTOR) {
            (None, true) => {}
            (Some(_), true) => errors.push(RowError {
                line: Some(u.line),
                field: Some("parent_id".into()),
                message: "the level-1 unit is the root and has no parent: leave parent_id empty"
                    .into(),
            }),
            (None, false) => errors.push(RowError {
                line: Some(u.line),
                field: Some("parent_id".into()),
                message: format!(
                    "is empty: a level-{} unit needs a parent one level up",
                    u.level
                ),
            }),
            (Some(p), false) if p == &u.id => errors.push(RowError {
                line: Some(u.line),
                field: Some("parent_id".into()),
                message: format!("loop: `{}` is its own parent", u.id),
            }),
            (Some(p), false) => match by_id.get(p.as_str()) {
                None if !lines.contains_key(p.as_str()) => errors.push(RowError {
                    line: Some(u.line),
                    field: Some("parent_id".into()),
                    message: format!("unknown parent `{p}`: no unit in the file has that id"),
                }),
                // The parent's own row has a problem, reported there.
                None => {}
                Some(parent) => {
                    if let Some(path) = loop_from(u, &by_id) {
                        errors.push(RowError {
                            line: Some(u.line),
                            field: Some("parent_id".into()),
                            message: format!("loop: {path}"),
                        });
                    } else if parent.level.number() + 1 != u.level.number() {
                        errors.push(RowError {
                            line: Some(u.line),
                            field: Some("level".into()),
                            message: format!(
                                "wrong level: a unit at level {} must have a parent at level {}, but `{}` (line {}) is at level {}",
                                u.level,
                                u.level.number() - 1,
                                parent.id,
                                parent.line,
                                parent.level
                            ),
                        });
                    }
                }
            },
        }
    }
}

/// The loop `u` is part of, written `a → b → a`, if following parents leads back to it.
fn loop_from(u: &OrgUnit, by_id: &HashMap<&str, &OrgUnit>) -> Option<String> {
    let mut path = vec![u.id.as_str()];
    let mut current = u;
    while let Some(p) = &current.parent {
        if p == &u.id {
            path.push(p.as_str());
            return Some(path.join(" → "));
        }
        if path.contains(&p.as_str()) {
            // A loop further up that `u` only leads into; reported on its own rows.
            return None;
        }
        path.push(p.as_str());
        current = by_id.get(p.as_str())?;
    }
    None
}

fn check_people(units: &[OrgUnit], errors: &mut Vec<RowError>) {
    let mut first: BTreeMap<&str, &OrgUnit> = BTreeMap::new();
    for u in units {
        match first.get(u.leader.email.as_str()) {
            None => {
                first.insert(u.leader.email.as_str(), u);
            }
            Some(f) if f.leader.name != u.leader.name => errors.push(RowError {
                line: Some(u.line),
                field: Some("leader_name".into()),
                message: format!(
                    "{} is named `{}` here but `{}` on line {}: one address is one person",
                    u.leader.email, u.leader.name, f.leader.name, f.line
                ),
            }),
            Some(f) if f.leader.language != u.leader.language => errors.push(RowError {
                line: Some(u.line),
                field: Some("language".into()),
                message: format!(
                    "{} gets mail in `{}` here but `{}` on line {}: one person has one language",
                    u.leader.email,
                    u.leader.language.key(),
                    f.leader.language.key(),
                    f.line
                ),
            }),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
