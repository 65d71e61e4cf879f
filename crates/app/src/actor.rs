//! Who acts, and what they may see and do.
//!
//! - The secretariat sees and does everything.
//! - A manager sees the subtree of the units they lead (the director: all) and acts for
//!   the units there as the wheel's definition says: as the leader of their own units,
//!   as the superior of the units directly below (signing their agreements, holding
//!   their dialogues), and so on.
//! - A leader sees their own units and those below, and acts only as the leader of
//!   their own units (dialogue, agreement, midway status).
//! - The command line's operator is the secretariat (the person at the server's
//!   terminal, who could edit the database anyway).
//!
//! Which party records which event, and who records a department milestone, is not
//! decided here: it is asked of the wheel (`WheelDefinition::may_record`,
//! `WheelDefinition::may_record_milestone`), from each deadline's `responsible` in
//! `wheel.toml`, so no front end can disagree. A unit outside what one sees is
//! [`Denied::NotFound`] (its existence is private); one that is seen but not theirs to
//! change, [`Denied::MayNot`].

use std::collections::{HashMap, HashSet};

use hjul_store::{Role, Stamp, TokenHolder};
use hjul_wheel::{Deadline, EventKind, Level, Party, Text, UnitId, WheelDefinition};

/// A person acting, with the part of the organisation they see.
#[derive(Debug, Clone)]
pub struct Actor {
    pub email: String,
    /// Their name as the organisation file gives it (the address for the secretariat).
    pub name: String,
    pub role: Role,
    /// The active units they lead.
    pub leads: Vec<String>,
    /// The token they signed in with; none for the command line's operator.
    pub token_id: Option<uuid::Uuid>,
    /// How the audit log names them: `api:EMAIL`, `cli:USER`.
    recorded_as: String,
    /// `None` for the secretariat: every unit.
    visible: Option<HashSet<String>>,
    /// Each visible unit's parent and level.
    units: HashMap<String, (Option<String>, i16)>,
    /// The units (in `leads`) they stand in for as a deputy today, each with the name of
    /// the leader they stand in for; what they record there says so.
    stands_in: HashMap<String, String>,
}

/// Why an actor may not do what they asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A unit they do not see, or text that names no unit: as if it did not exist.
    #[error("there is no unit `{0}` you can see")]
    NotFound(String),
    /// They see the unit, and the wheel names other parties for this event.
    #[error("`{unit}`: {text}")]
    MayNot { unit: String, text: Text },
    /// Only the party the wheel names for a department milestone (`responsible`), or
    /// the secretariat, records it.
    #[error("{0}")]
    Milestone(Text),
    /// Only the secretariat does this (`what` says what, in English).
    #[error("{what} is for the secretariat")]
    SecretariatOnly { what: &'static str },
}

impl Denied {
    /// What to tell the person, in their language.
    pub fn text(&self) -> Text {
        match self {
            Self::NotFound(_) => Text::new("access.not_found"),
            Self::MayNot { text, .. } | Self::Milestone(text) => text.clone(),
            Self::SecretariatOnly { .. } => Text::new("access.secretariat_only"),
        }
    }
}

impl Actor {
    /// A person signed in with a token, seeing the subtree of the units they lead
    /// (`subtree`: each unit's id, parent and level).
    pub fn signed_in(holder: TokenHolder, subtree: Option<Vec<hjul_store::SubtreeUnit>>) -> Self {
        let (visible, units) = match subtree {
            None => (None, HashMap::new()),
            Some(units) => (
                Some(units.iter().map(|u| u.id.clone()).collect()),
                units
                    .into_iter()
                    .map(|u| (u.id, (u.parent, u.level)))
                    .collect(),
            ),
        };
        Self {
            recorded_as: format!("api:{}", holder.email),
            email: holder.email,
            name: holder.name,
            role: holder.role,
            leads: holder.leads,
            token_id: Some(holder.token_id),
            visible,
            units,
            stands_in: HashMap::new(),
        }
    }

    /// The same person standing in as deputy for `units` today (each with the name of
    /// the leader they stand in for): they act there as that leader would. `subtree`
    /// is what they see now, their own units' and the others' together.
    #[must_use]
    pub fn standing_in(
        mut self,
        units: Vec<(String, String)>,
        subtree: Vec<hjul_store::SubtreeUnit>,
    ) -> Self {
        if units.is_empty() || self.is_secretariat() {
            return self;
        }
        for (unit, leader) in units {
            if !self.leads.contains(&unit) {
                self.leads.push(unit.clone());
                self.stands_in.insert(unit, leader);
            }
        }
        let visible = self.visible.get_or_insert_with(HashSet::new);
        for u in subtree {
            visible.insert(u.id.clone());
            self.units.insert(u.id, (u.parent, u.level));
        }
        self
    }

    /// Whom they stand in for when they act for `unit`: the leader whose right they
    /// use as a deputy (the nearest unit up the chain they lead or stand in for), or
    /// none when the right is their own.
    pub fn stands_in_for(&self, unit: &str) -> Option<&str> {
        if self.stands_in.is_empty() {
            return None;
        }
        self.chain_of(unit)
            .find(|id| self.leads.contains(id))
            .and_then(|id| self.stands_in.get(id))
            .map(String::as_str)
    }

    /// A person of the organisation acting without a token (the command line's `--as`),
    /// with a manager's reach over the subtree of the units they lead.
    pub fn person(
        email: &str,
        name: String,
        leads: Vec<String>,
        subtree: Vec<hjul_store::SubtreeUnit>,
        recorded_as: String,
    ) -> Self {
        Self {
            recorded_as,
            ..Self::signed_in(
                TokenHolder {
                    token_id: uuid::Uuid::nil(),
                    role: Role::Manager,
                    email: email.to_owned(),
                    name,
                    leads,
                },
                Some(subtree),
            )
        }
        .without_token()
    }

    /// A person the municipality's login named a member of the secretariat: they see
    /// and do everything, as the secretariat's token does.
    pub fn secretariat_person(email: &str, recorded_as: String) -> Self {
        Self {
            email: email.to_owned(),
            name: email.to_owned(),
            role: Role::Secretariat,
            leads: Vec::new(),
            token_id: None,
            recorded_as,
            visible: None,
            units: HashMap::new(),
            stands_in: HashMap::new(),
        }
    }

    fn without_token(mut self) -> Self {
        self.token_id = None;
        self
    }

    /// The command line's operator, acting as the secretariat; `recorded_as` is how the
    /// audit log names them (`cli:USER`, or `--actor`).
    pub fn operator(recorded_as: &str, secretariat_email: &str) -> Self {
        Self {
            email: secretariat_email.to_owned(),
            name: recorded_as.to_owned(),
            role: Role::Secretariat,
            leads: Vec::new(),
            token_id: None,
            recorded_as: recorded_as.to_owned(),
            visible: None,
            units: HashMap::new(),
            stands_in: HashMap::new(),
        }
    }

    /// How the audit log names them.
    pub fn recorded_as(&self) -> &str {
        &self.recorded_as
    }

    /// The stamp of a change made by them at `at`, on the municipality's `today`.
    pub fn stamp(&self, at: chrono::DateTime<chrono::Utc>, today: chrono::NaiveDate) -> Stamp {
        Stamp {
            actor: self.recorded_as.clone(),
            at,
            today,
        }
    }

    /// The stamp of a change they make for `unit`: as a deputy, the history and the
    /// audit log say whom they stood in for ("Anna Bech for Bo Nielsen (oidc:…)").
    pub fn stamp_for(
        &self,
        unit: &str,
        at: chrono::DateTime<chrono::Utc>,
        today: chrono::NaiveDate,
    ) -> Stamp {
        let mut stamp = self.stamp(at, today);
        if let Some(leader) = self.stands_in_for(unit) {
            stamp.actor = format!("{} for {leader} ({})", self.name, self.recorded_as);
        }
        stamp
    }

    /// Whether they lead `unit` or a unit above it themselves (not as a deputy): who
    /// may name a deputy for it, with the secretariat.
    fn leads_own(&self, unit: &str) -> bool {
        // A leader's token reaches its own units only, as for recording.
        let reach = if self.role == Role::Leader {
            1
        } else {
            usize::MAX
        };
        self.chain_of(unit)
            .take(reach)
            .any(|id| self.leads.contains(id) && !self.stands_in.contains_key(id))
    }

    /// May name or end a deputy for `unit`: the secretariat, the unit's leader, or a
    /// manager above it (not someone who is a deputy themselves). The unit as a typed
    /// id when they may.
    pub fn may_name_deputy(&self, unit: &str) -> Result<UnitId, Denied> {
        let id = self.may_see(unit)?;
        if self.is_secretariat() || self.leads_own(id.as_str()) {
            return Ok(id);
        }
        Err(Denied::MayNot {
            unit: unit.to_owned(),
            text: Text::new("deputy.may_not").arg("unit", unit.to_owned()),
        })
    }

    pub fn is_secretariat(&self) -> bool {
        self.role == Role::Secretariat
    }

    /// The units they see; `None` for the secretariat (every unit).
    pub fn visible(&self) -> Option<&HashSet<String>> {
        self.visible.as_ref()
    }

    pub fn sees(&self, unit: &str) -> bool {
        self.visible.as_ref().is_none_or(|v| v.contains(unit))
    }

    pub fn require_secretariat(&self, what: &'static str) -> Result<(), Denied> {
        if self.is_secretariat() {
            Ok(())
        } else {
            Err(Denied::SecretariatOnly { what })
        }
    }

    /// The unit, as a typed id, when they see it: text that is no unit's id is answered
    /// as a unit they cannot see.
    pub fn may_see(&self, unit: &str) -> Result<UnitId, Denied> {
        match UnitId::parse(unit) {
            Ok(id) if self.sees(id.as_str()) => Ok(id),
            _ => Err(Denied::NotFound(unit.to_owned())),
        }
    }

    /// `unit` and the units above it, as far as they see.
    fn chain_of<'a>(&'a self, unit: &str) -> impl Iterator<Item = &'a String> + 'a {
        let units = &self.units;
        let parent = move |id: &'a String| {
            units
                .get(id)
                .and_then(|(p, _)| p.as_ref())
                .and_then(|p| units.get_key_value(p).map(|(k, _)| k))
        };
        self.units
            .get_key_value(unit)
            .map(|(k, _)| k)
            .into_iter()
            .flat_map(move |s| hjul_wheel::chain(s, parent))
    }

    /// The levels of the unit's chain they lead: the unit's own level when they lead
    /// it, one up when they lead its parent, … (within what they see).
    fn levels_led(&self, unit: &str) -> (Option<Level>, Vec<Level>) {
        let mut led = Vec::new();
        let Some((_, level)) = self.units.get(unit) else {
            return (None, led);
        };
        let level = u8::try_from(*level).ok().and_then(Level::new);
        // A leader's token acts for their own units only.
        let reach = if self.role == Role::Leader {
            1
        } else {
            usize::MAX
        };
        for (depth, id) in self.chain_of(unit).take(reach).enumerate() {
            if self.leads.contains(id)
                && let Some(l) = level.and_then(|l| l.up(u8::try_from(depth).unwrap_or(u8::MAX)))
            {
                led.push(l);
            }
        }
        (level, led)
    }

    /// May record an event of `kind` for the unit: asked of the wheel's definition. The
    /// unit, as a typed id, when they may.
    pub fn may(
        &self,
        def: &WheelDefinition,
        kind: EventKind,
        unit: &str,
    ) -> Result<UnitId, Denied> {
        let id = self.may_see(unit)?;
        if self.is_secretariat() {
            return Ok(id);
        }
        let (level, led) = self.levels_led(unit);
        if level.is_some_and(|l| def.may_record(kind, l, &led)) {
            return Ok(id);
        }
        let parties = level
            .map(|l| def.parties_for(kind, l))
            .unwrap_or_default()
            .iter()
            .map(|p| hjul_wheel::text::key("party", p.key()))
            .collect();
        Err(Denied::MayNot {
            unit: unit.to_owned(),
            text: Text::new("access.may_not")
                .arg("event", hjul_wheel::text::key("event", kind.key()))
                .arg("parties", hjul_wheel::Arg::List(parties)),
        })
    }

    /// May record the department milestone `milestone`: asked of the wheel (the
    /// secretariat always; the director when the rule names them). `root` is the
    /// organisation's root unit.
    pub fn may_record_milestone(
        &self,
        def: &WheelDefinition,
        milestone: Deadline,
        root: Option<&str>,
    ) -> Result<(), Denied> {
        let leads_root = root.is_some_and(|r| self.leads.iter().any(|l| l == r));
        if self.is_secretariat() || def.may_record_milestone(milestone, leads_root) {
            return Ok(());
        }
        let party = def
            .milestone_rule(milestone)
            .map_or(Party::Secretariat, |r| r.responsible);
        Err(Denied::Milestone(
            Text::new("access.milestone")
                .arg(
                    "milestone",
                    hjul_wheel::text::key("deadline", milestone.key()),
                )
                .arg("party", hjul_wheel::text::key("party", party.key())),
        ))
    }
}
