//! The organisation file: units, their tree and their leaders, read from CSV and checked
//! as a whole before anything is written.
//!
//! Header: `unit_id,name,level,parent_id,area,leader_name,leader_email[,language]`.
//! Columns may come in any order. A file exported by a Danish Excel uses `;` between
//! fields; that is recognised from the header line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_ORG_ROWS, MAX_PROBLEMS, MAX_TITLE_CHARS, breaks_line, clip};
use crate::organisation::{Area, Level};
use crate::text::{Arg, Text};

/// An email address, checked and kept in lower case (addresses are compared without
/// case everywhere in hjul).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// The characters an address may have besides letters and digits before its `@` (RFC
/// 5322's `atext`; no quoted local parts).
const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

impl Email {
    /// The one check of an address in hjul, at import, when a token is made and before a
    /// mail is built: a dot-atom before the `@` (letters, digits and `!#$%&'*+-/=?^_`{|}~`,
    /// dots only between them, at most 64 bytes) and a domain of at least two labels of
    /// letters, digits and inner hyphens (each at most 63 bytes, at most 253 in all).
    /// Every address it accepts, the mail library accepts too (a test in `hjul-mail`
    /// checks it), so an address that passes import can always be mailed.
    pub fn parse(text: &str) -> Result<Self, Text> {
        // Lower case first: the form kept is the form checked (some letters grow, or
        // change kind, when lowered).
        let lowered = text.trim().to_lowercase();
        let t = lowered.as_str();
        let err = |key: &'static str| Err(Text::new(key).arg("address", clip(t, 80)));
        if t.is_empty() {
            return Err(Text::new("email.empty"));
        }
        if t.chars().any(breaks_line) {
            return Err(Text::new("email.control"));
        }
        if t.len() > 254 {
            return Err(Text::new("email.too_long"));
        }
        if let Some(c) = t
            .chars()
            .find(|c| c.is_whitespace() || "<>,;:\"()[]\\".contains(*c))
        {
            return Err(Text::new("email.character")
                .arg("address", clip(t, 80))
                .arg("char", c.to_string()));
        }
        let Some((local, domain)) = t.split_once('@') else {
            return err("email.no_at");
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return err("email.form");
        }
        let atom = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || LOCAL_SPECIALS.contains(c))
        };
        if local.len() > 64 || !local.split('.').all(atom) {
            return err("email.local");
        }
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.starts_with(char::is_alphanumeric)
                && l.ends_with(char::is_alphanumeric)
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label) {
            return err("email.domain");
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|t| t.to_string())
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
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Da,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Da, Language::En];

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
    /// Letters a–z, digits, `-`, `_` and `.`, starting with a letter or a digit (an id is
    /// part of a page's address, so `..` or `.x` could not be one), at most 64.
    pub fn parse(text: &str) -> Result<Self, Text> {
        let t = text.trim();
        if t.is_empty() {
            return Err(Text::new("unit_id.empty"));
        }
        if t.len() > 64 {
            return Err(Text::new("unit_id.too_long"));
        }
        if let Some(c) = t
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
        {
            return Err(Text::new("unit_id.character")
                .arg("id", clip(t, 64))
                .arg("char", c.escape_debug().to_string()));
        }
        if !t.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(Text::new("unit_id.start").arg("id", t));
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
/// mail headers and calendar entries, so a line break must never get through.
pub fn check_name(text: &str) -> Result<String, Text> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Text::new("name.empty"));
    }
    if t.chars().any(breaks_line) {
        return Err(Text::new("name.line_break"));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(Text::new("name.too_long").arg("max", MAX_TITLE_CHARS));
    }
    crate::limits::check_visible(t)?;
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
    /// What is wrong and what to do, in the reader's language.
    pub text: Text,
}

impl RowError {
    pub(crate) fn new(line: Option<usize>, field: Option<&str>, text: Text) -> Self {
        Self {
            line,
            field: field.map(str::to_owned),
            text,
        }
    }

    /// In English.
    pub fn message(&self) -> String {
        self.text.to_string()
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message();
        match (&self.line, &self.field) {
            (Some(l), Some(field)) => write!(f, "line {l}, {field}: {message}"),
            (Some(l), None) => write!(f, "line {l}: {message}"),
            (None, Some(field)) => write!(f, "{field}: {message}"),
            (None, None) => f.write_str(&message),
        }
    }
}

/// Every problem found in an organisation file (the first [`MAX_PROBLEMS`], then a
/// count); nothing is imported while there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OrgErrors(pub Vec<RowError>);

impl fmt::Display for OrgErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_problems(f, "the organisation file", &self.0)
    }
}

/// `N problems in FILE, nothing was imported:` and each, a line apiece.
pub(crate) fn write_problems(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    problems: &[RowError],
) -> fmt::Result {
    let n = problems.len();
    write!(
        f,
        "{n} problem{} in {file}, nothing was imported:",
        if n == 1 { "" } else { "s" }
    )?;
    for e in problems {
        write!(f, "\n  {e}")?;
    }
    Ok(())
}

/// Where each column of a CSV file's `header` is, checking that every column is one of
/// `(required, optional)` (`unknown` words the refusal of any other), none comes twice
/// and every required one is there; `keys` are the messages for the last two.
pub(crate) fn header_columns(
    header: &[String],
    (required, optional): (&[&str], &[&str]),
    (twice, lacks): (&'static str, &'static str),
    unknown: impl Fn(&str) -> Text,
    errors: &mut Errors,
) -> HashMap<String, usize> {
    let mut column: HashMap<String, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            errors.push(RowError::new(Some(1), None, unknown(name)));
        } else if column.insert(name.clone(), i).is_some() {
            errors.push(RowError::new(
                Some(1),
                None,
                Text::new(twice).arg("name", name.as_str()),
            ));
        }
    }
    let missing: Vec<Arg> = required
        .iter()
        .filter(|c| !column.contains_key(**c))
        .map(|c| Arg::Plain((*c).to_owned()))
        .collect();
    if !missing.is_empty() {
        errors.push(RowError::new(
            Some(1),
            None,
            Text::new(lacks).arg("missing", Arg::List(missing)),
        ));
    }
    column
}

/// Collects a CSV file's problems (the organisation, indicator data), keeping the first
/// [`MAX_PROBLEMS`] and counting the rest.
#[derive(Default)]
pub(crate) struct Errors {
    list: Vec<RowError>,
    more: usize,
}

impl Errors {
    pub(crate) fn push(&mut self, e: RowError) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(e);
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems by line, and a count of those not listed.
    pub(crate) fn into_list(mut self) -> Vec<RowError> {
        self.list.sort_by_key(|e| e.line.unwrap_or(0));
        if self.more > 0 {
            self.list.push(RowError::new(
                None,
                None,
                Text::new("problem.more").arg("count", self.more),
            ));
        }
        self.list
    }

    fn finish(self) -> OrgErrors {
        OrgErrors(self.into_list())
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

fn columns() -> Arg {
    Arg::List(
        REQUIRED
            .iter()
            .map(|c| Arg::Plain((*c).to_owned()))
            .collect(),
    )
}

impl Organisation {
    pub fn units(&self) -> &[OrgUnit] {
        &self.units
    }

    pub fn root(&self) -> Option<&OrgUnit> {
        self.units.iter().find(|u| u.parent.is_none())
    }

    /// Reads and checks an organisation file. `progress` is called with the number of
    /// rows read so far, for a progress bar on large files. Everything is linear in the
    /// file's size, and a file of more than [`MAX_ORG_ROWS`] rows is refused as such.
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
        let mut errors = Errors::default();

        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
            Err(e) => {
                return Err(OrgErrors(vec![RowError::new(
                    None,
                    None,
                    Text::new("org.header_unreadable").arg("detail", e.to_string()),
                )]));
            }
        };
        let column = header_columns(
            &header,
            (&REQUIRED, &OPTIONAL),
            ("org.column_twice", "org.header_lacks"),
            |name| {
                Text::new("org.unknown_column")
                    .arg("name", clip(name, 40))
                    .arg("columns", columns())
            },
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors.finish());
        }

        let lines = crate::config_error::Lines::new(text);
        let mut units = Vec::new();
        let mut ids: Vec<(UnitId, usize)> = Vec::new();
        for (n, record) in reader.records().enumerate() {
            if n >= MAX_ORG_ROWS {
                return Err(OrgErrors(vec![RowError::new(
                    None,
                    None,
                    Text::new("org.too_many_rows").arg("max", MAX_ORG_ROWS),
                )]));
            }
            progress(n + 1);
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| lines.of_record(text, p.byte()));
                    errors.push(RowError::new(
                        line,
                        None,
                        Text::new("org.not_csv").arg("detail", e.to_string()),
                    ));
                    continue;
                }
            };
            let line = record
                .position()
                .map_or(0, |p| lines.of_record(text, p.byte()));
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if record.len() != header.len() {
                errors.push(RowError::new(
                    Some(line),
                    None,
                    Text::new("org.field_count")
                        .arg("count", record.len())
                        .arg("header", header.len()),
                ));
                continue;
            }
            let get = |c: &str| column.get(c).and_then(|i| record.get(*i)).unwrap_or("");
            let mut bad = |field: &str, text: Text| {
                errors.push(RowError::new(Some(line), Some(field), text));
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
                    Text::new("org.level").arg("value", clip(get("level").trim(), 20)),
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
            let area = Area::from_words(get("area"));
            if area.is_none() {
                bad(
                    "area",
                    Text::new("org.area").arg("value", clip(get("area").trim(), 40)),
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
                        Text::new("org.language").arg("value", clip(&lang_text, 20)),
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
            errors.push(RowError::new(None, None, Text::new("org.no_units")));
        }
        if errors.is_empty() {
            Ok(Self { units })
        } else {
            Err(errors.finish())
        }
    }
}

fn check_tree(units: &[OrgUnit], ids: &[(UnitId, usize)], errors: &mut Errors) {
    let mut lines: HashMap<&str, usize> = HashMap::new();
    for (id, line) in ids {
        if let Some(first) = lines.get(id.as_str()) {
            errors.push(RowError::new(
                Some(*line),
                Some("unit_id"),
                Text::new("org.duplicate_id")
                    .arg("id", id.as_str())
                    .arg("first", *first),
            ));
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
        [] if !units.is_empty() => {
            errors.push(RowError::new(None, None, Text::new("org.no_root")));
        }
        [first, rest @ ..] => {
            for r in rest {
                errors.push(RowError::new(
                    Some(r.line),
                    Some("level"),
                    Text::new("org.second_root").arg("first", first.line),
                ));
            }
        }
        _ => {}
    }
    let loops = loops(units, &by_id);
    for u in units {
        match (&u.parent, u.level == Level::DIRECTOR) {
            (None, true) => {}
            (Some(_), true) => errors.push(RowError::new(
                Some(u.line),
                Some("parent_id"),
                Text::new("org.root_parent"),
            )),
            (None, false) => errors.push(RowError::new(
                Some(u.line),
                Some("parent_id"),
                Text::new("org.no_parent").arg("level", u.level.number()),
            )),
            (Some(p), false) if p == &u.id => errors.push(RowError::new(
                Some(u.line),
                Some("parent_id"),
                Text::new("org.own_parent").arg("id", u.id.as_str()),
            )),
            (Some(p), false) => match by_id.get(p.as_str()) {
                None if !lines.contains_key(p.as_str()) => errors.push(RowError::new(
                    Some(u.line),
                    Some("parent_id"),
                    Text::new("org.unknown_parent").arg("parent", p.as_str()),
                )),
                // The parent's own row has a problem, reported there.
                None => {}
                Some(parent) => {
                    if let Some(path) = loops.get(u.id.as_str()) {
                        errors.push(RowError::new(
                            Some(u.line),
                            Some("parent_id"),
                            Text::new("org.loop").arg("path", path.as_str()),
                        ));
                    } else if parent.level.number() + 1 != u.level.number() {
                        errors.push(RowError::new(
                            Some(u.line),
                            Some("level"),
                            Text::new("org.wrong_level")
                                .arg("level", u.level.number())
                                .arg("parent_level", u.level.number() - 1)
                                .arg("parent", parent.id.as_str())
                                .arg("parent_line", parent.line)
                                .arg("actual", parent.level.number()),
                        ));
                    }
                }
            },
        }
    }
}

/// Every unit that is part of a loop of parents, with the loop written from it
/// (`a → b → a`). Each unit is walked once: a walk stops at a unit already walked, so the
/// check is linear in the number of units (a walk per unit that rescanned its path made
/// a file of 4,000 rows take most of a minute).
fn loops<'a>(
    units: &'a [OrgUnit],
    by_id: &HashMap<&'a str, &'a OrgUnit>,
) -> HashMap<&'a str, String> {
    // 0: not walked; 1: on the current walk; 2: done.
    let mut state: HashMap<&str, u8> = HashMap::with_capacity(units.len());
    let mut found: HashMap<&str, String> = HashMap::new();
    for u in units {
        if state.get(u.id.as_str()).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut path: Vec<&str> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        let mut current = Some(u);
        while let Some(c) = current {
            let id = c.id.as_str();
            match state.get(id).copied().unwrap_or(0) {
                2 => break,
                1 => {
                    // Back on this walk: the units from there on are a loop.
                    if let Some(start) = position.get(id).copied() {
                        let cycle = &path[start..];
                        // A unit that is its own parent is reported on its own.
                        if cycle.len() > 1 {
                            for (i, member) in cycle.iter().enumerate() {
                                found.insert(member, loop_text(cycle, i));
                            }
                        }
                    }
                    break;
                }
                _ => {
                    state.insert(id, 1);
                    position.insert(id, path.len());
                    path.push(id);
                    current = c
                        .parent
                        .as_ref()
                        .and_then(|p| by_id.get(p.as_str()).copied());
                }
            }
        }
        for id in path {
            state.insert(id, 2);
        }
    }
    found
}

/// A loop written from its `i`th unit: `a → b → c → a`; a long one shortened to its
/// first units and its length, so writing every unit's loop stays linear.
fn loop_text(cycle: &[&str], i: usize) -> String {
    let n = cycle.len();
    let at = |j: usize| cycle[(i + j) % n];
    if n <= 6 {
        let mut names: Vec<&str> = (0..n).map(at).collect();
        names.push(at(0));
        names.join(" → ")
    } else {
        format!(
            "{} → {} → {} → … ({n} units) → {}",
            at(0),
            at(1),
            at(2),
            at(0)
        )
    }
}

fn check_people(units: &[OrgUnit], errors: &mut Errors) {
    let mut first: BTreeMap<&str, &OrgUnit> = BTreeMap::new();
    for u in units {
        match first.get(u.leader.email.as_str()) {
            None => {
                first.insert(u.leader.email.as_str(), u);
            }
            Some(f) if f.leader.name != u.leader.name => errors.push(RowError::new(
                Some(u.line),
                Some("leader_name"),
                Text::new("org.two_names")
                    .arg("email", u.leader.email.as_str())
                    .arg("name", u.leader.name.as_str())
                    .arg("first_name", f.leader.name.as_str())
                    .arg("first", f.line),
            )),
            Some(f) if f.leader.language != u.leader.language => errors.push(RowError::new(
                Some(u.line),
                Some("language"),
                Text::new("org.two_languages")
                    .arg("email", u.leader.email.as_str())
                    .arg("language", u.leader.language.key())
                    .arg("first_language", f.leader.language.key())
                    .arg("first", f.line),
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
