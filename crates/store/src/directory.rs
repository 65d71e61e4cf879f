//! The organisation as the store keeps it in memory: the unit tree resolved to people,
//! for whom a mail goes to and for what a person sees (the subtree they lead). Read
//! once per organisation import (on any instance) and kept until the next.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::EntityTrait;
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{person, unit};
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
        let start = self.units.get(unit_id)?;
        let parent = |u: &unit::Model| u.parent_id.as_ref().and_then(|p| self.units.get(p));
        let u = hjul_wheel::chain(start, parent).nth(usize::from(up))?;
        let p = self.people.get(&u.leader_id)?;
        Some(Addressee {
            email: p.email.clone(),
            name: p.name.clone(),
            language: p.language,
        })
    }

    /// The organisation's root unit (the department), if one is imported.
    pub fn root_id(&self) -> Option<&str> {
        self.root.as_deref()
    }

    /// The leader of the root unit (the director).
    pub fn director(&self) -> Option<Addressee> {
        self.leader(self.root.as_ref()?, 0)
    }

    pub fn unit_name(&self, unit_id: &str) -> Option<&str> {
        self.units.get(unit_id).map(|u| u.name.as_str())
    }

    /// The active units the person at `email` leads and every unit under them: what a
    /// manager or a leader sees. In no particular order.
    pub fn subtree_led_by(&self, email: &str) -> Vec<crate::SubtreeUnit> {
        let mut stack: Vec<&str> = self
            .led_by
            .get(email)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
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
        Ok(Directory {
            units,
            people,
            root,
            children,
            led_by,
        })
    }
}
