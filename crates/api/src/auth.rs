//! Who is asking, and what they may see and do.
//!
//! - A secretariat token sees and does everything.
//! - A manager sees the subtree of the units they lead (the director: all) and acts for
//!   the units there as the wheel's definition says: as the leader of their own units,
//!   as the superior of the units directly below (signing their agreements, holding their
//!   dialogues), and so on.
//! - A leader sees their own units and those below, and acts only as the leader of their
//!   own units (dialogue, agreement, midway status).
//!
//! Which party records which event is not decided here: it is asked of the wheel
//! (`WheelDefinition::may_record`), so the API, the dashboard and the command line
//! cannot disagree. A unit outside what one sees is answered 404 (its existence is
//! private); one that is seen but not theirs to change, 403.
//!
//! The API takes a bearer token only; the dashboard's session cookie is not accepted
//! there, so a page on another site cannot use a signed-in browser to call it.

use std::collections::{HashMap, HashSet};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hjul_store::{Role, Stamp, TokenHolder};
use hjul_wheel::{EventKind, Level, Text, UnitId};

use crate::AppState;
use crate::problem::Problem;

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

/// The value of cookie `name` among a request's headers.
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in token holder, with the part of the organisation they see.
#[derive(Debug, Clone)]
pub struct Principal {
    pub holder: TokenHolder,
    /// `None` for the secretariat: everything.
    visible: Option<HashSet<String>>,
    /// Each visible unit's parent and level.
    units: HashMap<String, (Option<String>, i16)>,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.holder.role
    }

    pub fn email(&self) -> &str {
        &self.holder.email
    }

    /// The stamp of a change made by this person, now.
    pub fn stamp(&self, state: &AppState) -> Stamp {
        let at = state.now();
        Stamp {
            actor: format!("api:{}", self.holder.email),
            at,
            today: state.today_at(at),
        }
    }

    /// The units this person sees; `None` for the secretariat (every unit).
    pub fn visible(&self) -> Option<&HashSet<String>> {
        self.visible.as_ref()
    }

    pub fn sees(&self, unit: &str) -> bool {
        self.visible.as_ref().is_none_or(|v| v.contains(unit))
    }

    pub fn require_secretariat(&self, what: &str) -> Result<(), Problem> {
        if self.role() == Role::Secretariat {
            Ok(())
        } else {
            Err(Problem::forbidden(format!("{what} is for the secretariat")))
        }
    }

    /// The unit, as a typed id, when this person sees it: text that is no unit's id is
    /// answered as a unit they cannot see.
    pub fn may_see(&self, unit: &str) -> Result<UnitId, Problem> {
        match UnitId::parse(unit) {
            Ok(id) if self.sees(id.as_str()) => Ok(id),
            _ => Err(Problem::not_found(format!(
                "there is no unit `{}` you can see",
                hjul_wheel::limits::clip(unit, 64)
            ))),
        }
    }

    /// The levels of the unit's chain this person leads: the unit's own level when they
    /// lead it, one up when they lead its parent, … (within what they see).
    fn levels_led(&self, unit: &str) -> (Option<Level>, Vec<Level>) {
        let mut led = Vec::new();
        let Some((_, level)) = self.units.get(unit) else {
            return (None, led);
        };
        let level = u8::try_from(*level).ok().and_then(Level::new);
        let mut current = Some(unit.to_owned());
        let mut depth = 0u8;
        while let Some(id) = current.take() {
            if self.holder.leads.contains(&id)
                && let Some(l) = level.and_then(|l| l.up(depth))
            {
                led.push(l);
            }
            // A leader's token acts for their own units only.
            if self.role() == Role::Leader {
                break;
            }
            current = self.units.get(&id).and_then(|(p, _)| p.clone());
            depth += 1;
            if depth > 4 {
                break;
            }
        }
        (level, led)
    }

    /// May record an event of `kind` for the unit: asked of the wheel's definition.
    /// The unit, as a typed id, when this person may.
    pub fn may(&self, state: &AppState, kind: EventKind, unit: &str) -> Result<UnitId, Problem> {
        let id = self
            .may_see(unit)
            .map_err(|p| p.text(Text::new("access.not_found")))?;
        if self.role() == Role::Secretariat {
            return Ok(id);
        }
        let (level, led) = self.levels_led(unit);
        let def = &state.store().wheel().definition;
        if level.is_some_and(|l| def.may_record(kind, l, &led)) {
            return Ok(id);
        }
        let parties: Vec<String> = level
            .map(|l| def.parties_for(kind, l))
            .unwrap_or_default()
            .iter()
            .map(|p| p.key().to_owned())
            .collect();
        let text = Text::new("access.may_not")
            .arg("event", hjul_wheel::text::key("event", kind.key()))
            .arg(
                "parties",
                hjul_wheel::Arg::List(
                    parties
                        .iter()
                        .map(|p| hjul_wheel::text::key("party", p))
                        .collect(),
                ),
            );
        Err(Problem::forbidden(format!("`{unit}`: {text}")).text(text))
    }
}

/// Works out a token holder's view of the organisation.
pub async fn principal_of(state: &AppState, holder: TokenHolder) -> Result<Principal, Problem> {
    if holder.role == Role::Secretariat {
        // Sees and does everything: no need to read the organisation on every request.
        return Ok(Principal {
            holder,
            visible: None,
            units: HashMap::new(),
        });
    }
    let subtree = state.store().subtree_led_by(&holder.email).await?;
    let visible = Some(subtree.iter().map(|u| u.id.clone()).collect());
    let units = subtree
        .into_iter()
        .map(|u| (u.id, (u.parent, u.level)))
        .collect();
    Ok(Principal {
        holder,
        visible,
        units,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            let cookie = cookie_in(&parts.headers, crate::dashboard::SESSION_COOKIE).is_some();
            return Err(if cookie {
                Problem::unauthorized().detail(
                    "the API takes a bearer token (`Authorization: Bearer <token>`); the dashboard's sign-in is not accepted here",
                )
            } else {
                Problem::unauthorized()
            });
        };
        let holder = state
            .store()
            .token_holder(&token)
            .await?
            .ok_or_else(Problem::unauthorized)?;
        principal_of(state, holder).await
    }
}
