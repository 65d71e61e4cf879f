//! The organisation as the store keeps it in memory: the unit tree resolved to people,
//! for whom a mail goes to and for what a person sees (the subtree they lead). Read
//! once per organisation import (on any instance) and kept until the next.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{deputy, person, unit};
use crate::{Store, StoreError};

/// Where an address goes: the unit chain resolved to people.
#[derive(Debug, Clone)]
pub struct Directory {
    units: HashMap<String, unit::Model>,
    people: HashMap<Uuid, person::Model>,
    root: Option<String>,
    /// Each unit's children (active or not), for the part of the tree a person sees.
    children: HashMap<String, Vec<String>>,
    /// The active units each address leads.
    led_by: HashMap<String, Vec<String>>,
    /// Each unit's deputies not ended (whatever their period: the day is asked).
    deputies: HashMap<String, Vec<deputy::Model>>,
    /// The units each address is named deputy of (not ended).
    deputy_of: HashMap<String, Vec<String>>,
}

/// Who a party of a unit is on a day: the person to write to, and when that is a
/// deputy, the leader they stand in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub to: Addressee,
    pub stands_in_for: Option<Addressee>,
}

/// A person to write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addressee {
    pub email: String,
    pub name: String,
    pub language: hjul_wheel::Language,
}

impl Directory {
    /// The leader of `unit_id`, or of the unit `up` levels above it.
    pub fn leader(&self, unit_id: &str, up: u8) -> Option<Addressee> {
        let u = self.up_from(unit_id, up)?;
        let p = self.people.get(&u.leader_id)?;
        Some(Addressee {
            email: p.email.clone(),
            name: p.name.clone(),
            language: p.language,
        })
    }

    fn up_from(&self, unit_id: &str, up: u8) -> Option<&unit::Model> {
        let start = self.units.get(unit_id)?;
        let parent = |u: &unit::Model| u.parent_id.as_ref().and_then(|p| self.units.get(p));
        hjul_wheel::chain(start, parent).nth(usize::from(up))
    }

    /// Who acts for the leader of `unit_id` (or of the unit `up` levels above) on
    /// `day`: their deputy while one is in force, else the leader.
    pub fn acting(&self, unit_id: &str, up: u8, day: hjul_wheel::Date) -> Option<Acting> {
        let u = self.up_from(unit_id, up)?;
        let leader = self.leader(&u.id, 0);
        match self.deputy_on(&u.id, day) {
            Some(d) => Some(Acting {
                to: Addressee {
                    email: d.email.clone(),
                    name: d.name.clone(),
                    language: d.language,
                },
                stands_in_for: leader,
            }),
            None => leader.map(|to| Acting {
                to,
                stands_in_for: None,
            }),
        }
    }

    /// The deputy of `unit_id` in force on `day`, if any.
    pub fn deputy_on(&self, unit_id: &str, day: hjul_wheel::Date) -> Option<&deputy::Model> {
        self.deputies
            .get(unit_id)?
            .iter()
            .find(|d| hjul_wheel::deputy::Period::new(d.starts_on, d.ends_on).covers(day))
    }

    /// The active units the person at `email` stands in for on `day`, each with the
    /// leader's name.
    pub fn stands_in_for(&self, email: &str, day: hjul_wheel::Date) -> Vec<(String, String)> {
        self.deputy_of
            .get(email)
            .into_iter()
            .flatten()
            .filter(|u| self.units.get(*u).is_some_and(|u| u.active))
            .filter(|u| self.deputy_on(u, day).is_some_and(|d| d.email == email))
            .map(|u| {
                let leader = self.leader(u, 0).map_or_else(String::new, |l| l.name);
                (u.clone(), leader)
            })
            .collect()
    }

    /// Whether `email` is named deputy of some unit (in any period not ended).
    pub fn is_named_deputy(&self, email: &str) -> bool {
        self.deputy_of.contains_key(email)
    }

    /// A deputy's name by their address, if they are named for some unit.
    pub fn deputy_name(&self, email: &str) -> Option<&str> {
        let unit = self.deputy_of.get(email)?.first()?;
        self.deputies
            .get(unit)?
            .iter()
            .find(|d| d.email == email)
            .map(|d| d.name.as_str())
    }

    /// The organisation's root unit (the department), if one is imported.
    pub fn root_id(&self) -> Option<&str> {
        self.root.as_deref()
    }

    /// The leader of the root unit (the director).
    pub fn director(&self) -> Option<Addressee> {
        self.leader(self.root.as_ref()?, 0)
    }

    /// The addresses of the people (leaders and deputies) whose name holds `needle`
    /// (lower case).
    pub fn people_named(&self, needle: &str) -> Vec<&str> {
        let people = self
            .people
            .values()
            .filter(|p| p.name.to_lowercase().contains(needle))
            .map(|p| p.email.as_str());
        let deputies = self
            .deputies
            .values()
            .flatten()
            .filter(|d| d.name.to_lowercase().contains(needle))
            .map(|d| d.email.as_str());
        people.chain(deputies).collect()
    }

    /// The name of the person at `email`: a leader in the organisation, or a deputy.
    pub fn person_name(&self, email: &str) -> Option<&str> {
        self.people
            .values()
            .find(|p| p.email == email)
            .map(|p| p.name.as_str())
            .or_else(|| self.deputy_name(email))
    }

    pub fn unit_name(&self, unit_id: &str) -> Option<&str> {
        self.units.get(unit_id).map(|u| u.name.as_str())
    }

    /// The active units the person at `email` leads and every unit under them: what a
    /// manager or a leader sees. In no particular order.
    pub fn subtree_led_by(&self, email: &str) -> Vec<crate::SubtreeUnit> {
        self.subtree_of(self.led_by(email).iter().map(String::as_str))
    }

    /// `unit` and every unit under it, by id.
    pub fn subtree_ids(&self, unit: &str) -> HashSet<String> {
        self.subtree_of(std::iter::once(unit))
            .into_iter()
            .map(|u| u.id)
            .collect()
    }

    /// The units `roots` and every unit under them.
    pub fn subtree_of<'a>(
        &'a self,
        roots: impl Iterator<Item = &'a str>,
    ) -> Vec<crate::SubtreeUnit> {
        let mut stack: Vec<&str> = roots.collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(u) = self.units.get(id) {
                out.push(crate::SubtreeUnit {
                    id: u.id.clone(),
                    parent: u.parent_id.clone(),
                    level: u.level,
                });
            }
            if let Some(under) = self.children.get(id) {
                stack.extend(under.iter().map(String::as_str));
            }
        }
        out
    }

    /// The active units the person at `email` leads, in no particular order.
    pub fn led_by(&self, email: &str) -> &[String] {
        self.led_by.get(email).map_or(&[], Vec::as_slice)
    }

    /// Every unit, in no particular order.
    pub fn units(&self) -> impl Iterator<Item = &unit::Model> {
        self.units.values()
    }

    pub fn unit(&self, unit_id: &str) -> Option<&unit::Model> {
        self.units.get(unit_id)
    }
}

/// The directory kept in memory, and the organisation's version it was read at.
pub(crate) type KeptDirectory = (i64, Arc<Directory>);

impl Store {
    /// Units and people, for resolving who an item goes to at the moment it is sent.
    /// Read once per organisation import (on any instance) and kept until the next:
    /// asking again costs one read of the organisation's count of changes.
    pub async fn directory(&self) -> Result<Arc<Directory>, StoreError> {
        // Read before the units: an import committed in between is in what is read, or
        // counts past this version and is read again next time.
        let version = crate::standing::organisation_version(&self.db).await?;
        if let Some(version) = version
            && let Ok(kept) = self.directory_cache.lock()
            && let Some((v, dir)) = kept.as_ref()
            && *v >= version
        {
            return Ok(dir.clone());
        }
        let dir = Arc::new(self.read_directory().await?);
        if let Some(version) = version
            && let Ok(mut kept) = self.directory_cache.lock()
        {
            *kept = Some((version, dir.clone()));
        }
        Ok(dir)
    }

    async fn read_directory(&self) -> Result<Directory, StoreError> {
        let units: HashMap<String, unit::Model> = unit::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let root = units
            .values()
            .find(|u| u.active && u.parent_id.is_none())
            .map(|u| u.id.clone());
        let people: HashMap<Uuid, person::Model> = person::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        let mut led_by: HashMap<String, Vec<String>> = HashMap::new();
        for u in units.values() {
            if let Some(parent) = &u.parent_id {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(u.id.clone());
            }
            if let Some(p) = people.get(&u.leader_id).filter(|_| u.active) {
                led_by
                    .entry(p.email.clone())
                    .or_default()
                    .push(u.id.clone());
            }
        }
        let mut deputies: HashMap<String, Vec<deputy::Model>> = HashMap::new();
        let mut deputy_of: HashMap<String, Vec<String>> = HashMap::new();
        for d in deputy::Entity::find()
            .filter(deputy::Column::EndedAt.is_null())
            .all(&self.db)
            .await?
        {
            let of = deputy_of.entry(d.email.clone()).or_default();
            if !of.contains(&d.unit_id) {
                of.push(d.unit_id.clone());
            }
            deputies.entry(d.unit_id.clone()).or_default().push(d);
        }
        Ok(Directory {
            units,
            people,
            root,
            children,
            led_by,
            deputies,
            deputy_of,
        })
    }
}
