//! The organisation as the wheel sees it: management levels, areas (tracks) and the
//! parties a deadline is for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A level in the management chain: 1 director, 2 chief, 3 leader or area leader,
/// 4 leader of one daycare house.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u8")]
pub struct Level(u8);

impl Level {
    pub const DIRECTOR: Level = Level(1);
    pub const ALL: [Level; 4] = [Level(1), Level(2), Level(3), Level(4)];

    pub fn new(n: u8) -> Option<Self> {
        (1..=4).contains(&n).then_some(Self(n))
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// The level `steps` above this one, if the chain reaches that far.
    pub fn up(self, steps: u8) -> Option<Level> {
        self.0.checked_sub(steps).and_then(Level::new)
    }
}

impl From<Level> for u8 {
    fn from(l: Level) -> u8 {
        l.0
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The track (spor) a unit belongs to.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Dagtilbud (DT)
    Daycare,
    /// Skole
    School,
    /// Familie og rådgivning (F&R)
    Family,
    /// BU fælles spor
    Department,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Daycare, Area::School, Area::Family, Area::Department];

    pub fn key(self) -> &'static str {
        match self {
            Self::Daycare => "daycare",
            Self::School => "school",
            Self::Family => "family",
            Self::Department => "department",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.key() == text)
    }

    /// The area a person wrote in a file: its key, or the Danish word the pages show
    /// (`dagtilbud`, `skole`, `familie`, `familie og rådgivning`, `forvaltning`, `hele
    /// børn & unge`), in any case and with spaces around.
    pub fn from_words(text: &str) -> Option<Self> {
        let t = text.trim().to_lowercase();
        Self::parse(&t).or(match t.as_str() {
            "dagtilbud" | "dt" => Some(Self::Daycare),
            "skole" | "skoler" => Some(Self::School),
            "familie" | "familie og rådgivning" | "f&r" => Some(Self::Family),
            "forvaltning" | "hele børn & unge" | "hele børn og unge" | "bu" => {
                Some(Self::Department)
            }
            _ => None,
        })
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

/// Who a deadline is for, relative to the unit it concerns.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// Sekretariatet: coordinates the cycle, owns the department milestones.
    Secretariat,
    /// The leader of the root unit (direktøren).
    Director,
    /// The unit's own leader.
    Leader,
    /// The leader of the unit's parent (they call the dialogue and sign the agreement).
    Superior,
    /// The leader two levels up.
    SuperiorOfSuperior,
}

impl Party {
    /// Who an escalation about this party's deadline goes to: one step up the chain.
    /// The secretariat answers to the director; above the director there is no one in
    /// the chain, so it goes to the secretariat that coordinates the cycle.
    pub fn superior(self) -> Party {
        match self {
            Self::Secretariat => Self::Director,
            Self::Director => Self::Secretariat,
            Self::Leader => Self::Superior,
            Self::Superior => Self::SuperiorOfSuperior,
            Self::SuperiorOfSuperior => Self::Director,
        }
    }

    /// Whether the party means anything without a unit (department deadlines).
    pub fn is_department_wide(self) -> bool {
        matches!(self, Self::Secretariat | Self::Director)
    }

    /// The actual recipient for a unit at `level` (or for the department when `None`).
    pub fn resolve(self, level: Option<Level>) -> Recipient {
        let up = match self {
            Self::Secretariat => return Recipient::Secretariat,
            Self::Director => return Recipient::Leader(Level::DIRECTOR),
            Self::Leader => 0,
            Self::Superior => 1,
            Self::SuperiorOfSuperior => 2,
        };
        match level.and_then(|l| l.up(up)) {
            Some(l) => Recipient::Leader(l),
            None => Recipient::Secretariat,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Secretariat => "secretariat",
            Self::Director => "director",
            Self::Leader => "leader",
            Self::Superior => "superior",
            Self::SuperiorOfSuperior => "superior_of_superior",
        }
    }

    /// The party a key names.
    pub fn parse(key: &str) -> Option<Self> {
        [
            Self::Secretariat,
            Self::Director,
            Self::Leader,
            Self::Superior,
            Self::SuperiorOfSuperior,
        ]
        .into_iter()
        .find(|p| p.key() == key)
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

/// A party resolved for one unit: the secretariat's address, or the leader at a level of
/// the unit's own chain (the store looks up who that is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Secretariat,
    /// The leader of the unit at this level in the unit's chain (itself or an ancestor).
    Leader(Level),
}

/// A unit's chain of command: the unit, its parent, its parent's parent, … up to the
/// root, each looked up by `parent`. The one walk up the tree: who acts for a unit
/// ([`acting_unit`]), whom a mail goes to, and which levels of a unit's chain a person
/// leads are all asked along it. At most [`Level::ALL`]'s length steps, so a loop in
/// records edited by hand cannot hang it.
pub fn chain<'a, U: 'a>(
    start: &'a U,
    parent: impl Fn(&'a U) -> Option<&'a U> + 'a,
) -> impl Iterator<Item = &'a U> + 'a {
    std::iter::successors(Some(start), move |u| parent(u)).take(Level::ALL.len())
}

/// The unit in `chain` (as [`chain`] gives it, starting at a unit at `level`) whose
/// leader acts as `party` for it: the first at or above the level the party names.
/// `None` for the secretariat, or when the chain ends before that level (the
/// secretariat then acts).
pub fn acting_unit<'a, U: 'a>(
    mut chain: impl Iterator<Item = &'a U>,
    level_of: impl Fn(&U) -> i16,
    level: Level,
    party: Party,
) -> Option<&'a U> {
    match party.resolve(Some(level)) {
        Recipient::Secretariat => None,
        Recipient::Leader(target) => chain.find(|u| level_of(u) <= i16::from(target.number())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk up finds the leader a party names, and stops where the tree does.
    #[test]
    fn the_acting_unit_is_found_up_the_chain() {
        // (id, level, parent)
        let units: [(&str, i16, Option<usize>); 4] = [
            ("bu", 1, None),
            ("dt", 2, Some(0)),
            ("dt-nord", 3, Some(1)),
            ("h", 4, Some(2)),
        ];
        let parent = |u: &(&str, i16, Option<usize>)| u.2.map(|i| &units[i]);
        let walk =
            |party| acting_unit(chain(&units[3], parent), |u| u.1, level(4), party).map(|u| u.0);
        assert_eq!(walk(Party::Leader), Some("h"));
        assert_eq!(walk(Party::Superior), Some("dt-nord"));
        assert_eq!(walk(Party::SuperiorOfSuperior), Some("dt"));
        assert_eq!(walk(Party::Director), Some("bu"));
        assert_eq!(walk(Party::Secretariat), None);
        // A chain that ends early (a unit whose parent is gone) leaves it to the
        // secretariat.
        let orphan: [(&str, i16, Option<usize>); 1] = [("h", 4, None)];
        let none = acting_unit(
            chain(&orphan[0], |_| None),
            |u| u.1,
            level(4),
            Party::Superior,
        );
        assert!(none.is_none());
        assert_eq!(
            chain(&units[3], parent).map(|u| u.0).collect::<Vec<_>>(),
            ["h", "dt-nord", "dt", "bu"]
        );
    }

    fn level(n: u8) -> Level {
        Level::new(n).unwrap()
    }

    #[test]
    fn levels_are_one_to_four() {
        assert!(Level::new(0).is_none());
        assert!(Level::new(5).is_none());
        assert_eq!(level(4).up(1), Some(level(3)));
        assert_eq!(level(2).up(2), None);
    }

    #[test]
    fn parties_resolve_along_the_chain() {
        assert_eq!(
            Party::Leader.resolve(Some(level(4))),
            Recipient::Leader(level(4))
        );
        assert_eq!(
            Party::Superior.resolve(Some(level(4))),
            Recipient::Leader(level(3))
        );
        assert_eq!(
            Party::SuperiorOfSuperior.resolve(Some(level(3))),
            Recipient::Leader(level(1))
        );
        // Above the director there is no one: the secretariat hears of it.
        assert_eq!(
            Party::SuperiorOfSuperior.resolve(Some(level(2))),
            Recipient::Secretariat
        );
        assert_eq!(Party::Director.resolve(None), Recipient::Leader(level(1)));
        assert_eq!(
            Party::Secretariat.resolve(Some(level(3))),
            Recipient::Secretariat
        );
    }

    #[test]
    fn escalation_goes_one_step_up() {
        assert_eq!(Party::Leader.superior(), Party::Superior);
        assert_eq!(Party::Superior.superior(), Party::SuperiorOfSuperior);
        assert_eq!(Party::Secretariat.superior(), Party::Director);
    }

    #[test]
    fn areas_parse_their_keys_only() {
        for a in Area::ALL {
            assert_eq!(Area::parse(a.key()), Some(a));
        }
        assert_eq!(Area::parse("Daycare"), None);
        assert_eq!(Area::parse("dagtilbud"), None);
    }

    #[test]
    fn a_file_may_name_an_area_in_danish() {
        for a in Area::ALL {
            assert_eq!(Area::from_words(a.key()), Some(a));
        }
        for (word, area) in [
            ("Skole", Area::School),
            (" dagtilbud ", Area::Daycare),
            ("FAMILIE", Area::Family),
            ("Familie og rådgivning", Area::Family),
            ("forvaltning", Area::Department),
            ("Daycare", Area::Daycare),
        ] {
            assert_eq!(Area::from_words(word), Some(area), "{word}");
        }
        assert_eq!(Area::from_words("børnehave"), None);
    }
}
